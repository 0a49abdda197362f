/*
 * Linked into the set-ID copies in a SANITIZE=address build only.  A
 * set-ID process may not read its own /proc/self/environ, where
 * AddressSanitizer looks for ASAN_OPTIONS, nor be traced by the
 * LeakSanitizer that would then run at exit (it is not dumpable): the
 * options mk/check.sh gives every other program, built in.
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
