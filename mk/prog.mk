# Builds one program: PROG, SRCS, MAN, and BINDIR (set in the Makefile).
include $(TOP)/mk/defs.mk

OBJS=	$(SRCS:.c=.o)
PROGDIR?=	$(SBINDIR)
PROGMODE?=	0755

all: $(PROG)

$(PROG): $(OBJS) $(LIBMAIL)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(OBJS): $(TOP)/lib/libmail/libmail.h $(wildcard *.h)

install: $(PROG)
	$(INSTALL) -d $(DESTDIR)$(PROGDIR)
	$(INSTALL) -m $(PROGMODE) $(PROG) $(DESTDIR)$(PROGDIR)/$(PROG)

clean:
	rm -f $(PROG) $(OBJS)

.PHONY: all install clean
