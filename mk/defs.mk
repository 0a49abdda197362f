# Common definitions for every Makefile of the tree (GNU make).
# TOP is set by the including Makefile to the root of the tree.

CC?=		cc
CFLAGS?=	-O2 -g
CWARN=		-Wall -Wextra -Werror -Wno-unused-parameter
BSD_CFLAGS:=	$(shell pkg-config --cflags libbsd-overlay 2>/dev/null)
BSD_LIBS:=	$(shell pkg-config --libs libbsd-overlay 2>/dev/null)
# SANITIZE=address,undefined (or thread) builds every program and test
# with those sanitizers; the top Makefile rebuilds the tree whenever
# the flags change, so that no object of another build is linked in.
SANITIZE?=
ifneq ($(SANITIZE),)
CFLAGS+=	-fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
		-fno-sanitize-recover=all
LDFLAGS+=	-fsanitize=$(SANITIZE)
endif
DKIM_CFLAGS:=	$(shell pkg-config --cflags opendkim 2>/dev/null)
DKIM_LIBS:=	$(shell pkg-config --libs opendkim libcrypto 2>/dev/null)
# libidn2 for IDNA domains, libunistring for NFC (addr.c; SMTPUTF8).
IDN_CFLAGS:=	$(shell pkg-config --cflags libidn2 2>/dev/null)
IDN_LIBS:=	$(shell pkg-config --libs libidn2 2>/dev/null)
# libunistring ships no pkg-config file on Debian.
UNISTRING_LIBS=	-lunistring
CPPFLAGS+=	-D_GNU_SOURCE -I$(TOP)/lib/libmail $(BSD_CFLAGS) $(DKIM_CFLAGS) $(IDN_CFLAGS)
LIBMAIL=	$(TOP)/lib/libmail/libmail.a
LDLIBS+=	$(LIBMAIL) -ldb -lcrypt -largon2 -lmd $(DKIM_LIBS) $(IDN_LIBS) $(UNISTRING_LIBS) $(BSD_LIBS)

PREFIX?=	/usr/local
DESTDIR?=
BINDIR=		$(PREFIX)/bin
SBINDIR=	$(PREFIX)/sbin
LIBEXECDIR=	$(PREFIX)/libexec
MANDIR=		$(PREFIX)/share/man
ETCDIR?=	$(PREFIX)/etc/mail
INSTALL?=	install

%.o: %.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CWARN) -c -o $@ $<
