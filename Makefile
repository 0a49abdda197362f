# basemail: all, check, install, run, clean.
TOP=		.
include mk/defs.mk

PROGDIRS=	$(patsubst %/Makefile,%,$(sort $(wildcard bin/*/Makefile \
		    sbin/*/Makefile libexec/*/Makefile)))
TESTDIRS=	$(patsubst %/Makefile,%,$(sort $(wildcard tests/*/Makefile)))
MANPAGES=	$(sort $(wildcard share/man/man*/*.[0-9]))

# The flags the tree was last built with; a change rebuilds it whole.
BUILDFLAGS=	$(CC) $(CFLAGS) $(SANITIZE)

all: buildflags lib
	@for d in $(PROGDIRS); do $(MAKE) -C $$d all || exit 1; done

lib: buildflags
	$(MAKE) -C lib/libmail all

buildflags:
	@echo '$(BUILDFLAGS)' | cmp -s - .buildflags 2>/dev/null || { \
		$(MAKE) -s clean >/dev/null; \
		echo '$(BUILDFLAGS)' >.buildflags; }

deps:
	@sh mk/deps.sh

tests: all
	@for d in $(TESTDIRS); do $(MAKE) -C $$d all || exit 1; done

check: deps
	@sh mk/peers.sh
	$(MAKE) tests
	@sh mk/check.sh $(TESTS)

lint:
	mandoc -Tlint -Wwarning $(MANPAGES)

run:
	@sh mk/deps.sh run
	@$(MAKE) -s --no-print-directory all
	@sh mk/run.sh

install: all
	@for d in $(PROGDIRS); do $(MAKE) -C $$d install || exit 1; done
	@sh mk/install-data.sh "$(DESTDIR)" "$(PREFIX)" "$(ETCDIR)"

clean:
	$(MAKE) -C lib/libmail clean
	@for d in $(PROGDIRS) $(TESTDIRS); do $(MAKE) -C $$d clean; done
	rm -rf tests/results.db .buildflags

.PHONY: all buildflags lib deps tests check lint run install clean
