# Builds the atf-c test programs of one test directory: TESTS_C lists
# them (one .c each); atf-sh tests are plain scripts and need no build.
include $(TOP)/mk/defs.mk

ATF_CFLAGS:=	$(shell pkg-config --cflags atf-c 2>/dev/null)
ATF_LIBS:=	$(shell pkg-config --libs atf-c 2>/dev/null)

all: $(TESTS_C)

$(TESTS_C): %: %.c $(LIBMAIL) $(TOP)/lib/libmail/libmail.h
	$(CC) $(CPPFLAGS) $(ATF_CFLAGS) $(CFLAGS) $(CWARN) -o $@ $< $(LDLIBS) $(ATF_LIBS)

clean:
	rm -f $(TESTS_C)

install:

.PHONY: all clean install
