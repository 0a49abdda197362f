# Builds the atf-c test programs of one test directory: TESTS_C lists
# them (one .c each, linked with the fixtures of tests/fixture.c);
# atf-sh tests are plain scripts and need no build.
include $(TOP)/mk/defs.mk

ATF_CFLAGS:=	$(shell pkg-config --cflags atf-c 2>/dev/null)
ATF_LIBS:=	$(shell pkg-config --libs atf-c 2>/dev/null)
FIXTURE=	$(TOP)/tests/fixture.c

all: $(TESTS_C)

$(TESTS_C): %: %.c $(FIXTURE) $(TOP)/tests/fixture.h $(LIBMAIL) \
    $(TOP)/lib/libmail/libmail.h
	$(CC) $(CPPFLAGS) -I$(TOP)/tests $(ATF_CFLAGS) $(CFLAGS) $(CWARN) \
	    -o $@ $< $(FIXTURE) $(LDLIBS) $(ATF_LIBS)

clean:
	rm -f $(TESTS_C)

install:

.PHONY: all clean install
