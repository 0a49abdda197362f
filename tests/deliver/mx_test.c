/*
 * deliver's MX resolution (libexec/deliver/mx.c) against a real DNS
 * server: dnsmasq on 127.0.0.1 at a free port, serving the test zone
 * from its command line.  The resolver of this process is pointed at
 * it; deliver itself always uses the system's resolver, whose port is
 * fixed at 53, so these cases test the lookups and their order here.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <atf-c.h>
#include <errno.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"
/* mx.c is deliver's own, not the library's: built into this test. */
#include "../../libexec/deliver/mx.c"

#define PIDFILE	"dnsmasq.pid"

static int
free_udp_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ATF_REQUIRE(fd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ATF_REQUIRE(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	ATF_REQUIRE(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Starts dnsmasq with the zone, and points our resolver at it. */
static void
dns_start(void)
{
	char		 port[32];
	FILE		*fp;
	unsigned char	 ans[512];
	pid_t		 pid;
	int		 p, i;

	p = free_udp_port();
	snprintf(port, sizeof(port), "--port=%d", p);
	pid = fork();
	ATF_REQUIRE(pid != -1);
	if (pid == 0) {
		execlp("dnsmasq", "dnsmasq", "--keep-in-foreground",
		    "--conf-file=/dev/null", port,
		    "--listen-address=127.0.0.1", "--bind-interfaces",
		    "--no-resolv", "--no-hosts", "--pid-file=", "--user=",
		    "--group=", "--local=/test/", "--log-facility=-",
		    "--mx-host=multi.test,mx2.multi.test,30",
		    "--mx-host=multi.test,mx0.multi.test,10",
		    "--mx-host=multi.test,mx1.multi.test,20",
		    "--host-record=mx0.multi.test,127.0.0.2",
		    "--host-record=mx1.multi.test,127.0.0.3,::1",
		    "--host-record=mx2.multi.test,127.0.0.4",
		    "--mx-host=equal.test,a.equal.test,10",
		    "--mx-host=equal.test,b.equal.test,10",
		    "--host-record=a.equal.test,127.0.0.6",
		    "--host-record=b.equal.test,127.0.0.7",
		    "--host-record=plain.test,127.0.0.5",
		    "--mx-host=nowhere.test,gone.nowhere.test,10",
		    (char *)NULL);
		_exit(127);
	}
	fp = fopen(PIDFILE, "w");
	ATF_REQUIRE(fp != NULL);
	fprintf(fp, "%ld\n", (long)pid);
	fclose(fp);

	ATF_REQUIRE(res_init() == 0);
	_res.nsaddr_list[0].sin_family = AF_INET;
	_res.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	_res.nsaddr_list[0].sin_port = htons((uint16_t)p);
	_res.nscount = 1;
	_res.retrans = 1;
	_res.retry = 1;
	/* Poll until it answers: 10 s at most. */
	for (i = 0; i < 100; i++) {
		if (res_query("plain.test", ns_c_in, ns_t_a, ans,
		    sizeof(ans)) > 0)
			return;
		usleep(100000);
	}
	atf_tc_fail("dnsmasq does not answer");
}

static void
dns_stop(void)
{
	FILE	*fp;
	long	 pid;

	if ((fp = fopen(PIDFILE, "r")) == NULL)
		return;
	if (fscanf(fp, "%ld", &pid) == 1 && pid > 0) {
		kill((pid_t)pid, SIGTERM);
		waitpid((pid_t)pid, NULL, 0);
	}
	fclose(fp);
}

static const char *
addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)ss)->sin_addr, buf, len);
	return inet_ntop(AF_INET6,
	    &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, len);
}

ATF_TC_WITH_CLEANUP(mx_preference_order);
ATF_TC_HEAD(mx_preference_order, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "the MX hosts come in order of preference");
	atf_tc_set_md_var(tc, "require.progs", "dnsmasq");
}
ATF_TC_BODY(mx_preference_order, tc)
{
	struct mx_host	 mx[8];

	dns_start();
	ATF_REQUIRE_EQ(mx_lookup("multi.test", mx, 8), 3);
	ATF_CHECK_STREQ(mx[0].name, "mx0.multi.test");
	ATF_CHECK_EQ(mx[0].pref, 10);
	ATF_CHECK_STREQ(mx[1].name, "mx1.multi.test");
	ATF_CHECK_EQ(mx[1].pref, 20);
	ATF_CHECK_STREQ(mx[2].name, "mx2.multi.test");
	ATF_CHECK_EQ(mx[2].pref, 30);
}
ATF_TC_CLEANUP(mx_preference_order, tc)
{
	dns_stop();
}

ATF_TC_WITH_CLEANUP(mx_equal_preference);
ATF_TC_HEAD(mx_equal_preference, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "MX hosts of equal preference are all tried, in random order");
	atf_tc_set_md_var(tc, "require.progs", "dnsmasq");
}
ATF_TC_BODY(mx_equal_preference, tc)
{
	struct mx_host	 mx[8];
	int		 i, afirst = 0;

	dns_start();
	for (i = 0; i < 64; i++) {
		ATF_REQUIRE_EQ(mx_lookup("equal.test", mx, 8), 2);
		ATF_REQUIRE(strcmp(mx[0].name, mx[1].name) != 0);
		afirst += strcmp(mx[0].name, "a.equal.test") == 0;
	}
	/* Both orders show up: the odds of failing are 2^-63. */
	ATF_CHECK(afirst > 0 && afirst < 64);
}
ATF_TC_CLEANUP(mx_equal_preference, tc)
{
	dns_stop();
}

ATF_TC_WITH_CLEANUP(mx_implicit);
ATF_TC_HEAD(mx_implicit, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "a domain with no MX record is its own mail host");
	atf_tc_set_md_var(tc, "require.progs", "dnsmasq");
}
ATF_TC_BODY(mx_implicit, tc)
{
	struct mx_host		 mx[8];
	struct sockaddr_storage	 ss[8];
	char			 buf[64];

	dns_start();
	ATF_REQUIRE_EQ(mx_lookup("plain.test", mx, 8), 1);
	ATF_CHECK_STREQ(mx[0].name, "plain.test");
	ATF_REQUIRE_EQ(mx_addrs(mx[0].name, ss, 8), 1);
	ATF_CHECK_STREQ(addr_str(&ss[0], buf, sizeof(buf)), "127.0.0.5");
}
ATF_TC_CLEANUP(mx_implicit, tc)
{
	dns_stop();
}

ATF_TC_WITH_CLEANUP(mx_addresses);
ATF_TC_HEAD(mx_addresses, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "the addresses of a mail host: AAAA then A");
	atf_tc_set_md_var(tc, "require.progs", "dnsmasq");
}
ATF_TC_BODY(mx_addresses, tc)
{
	struct sockaddr_storage	 ss[8];
	char			 buf[64];

	dns_start();
	ATF_REQUIRE_EQ(mx_addrs("mx1.multi.test", ss, 8), 2);
	ATF_CHECK_STREQ(addr_str(&ss[0], buf, sizeof(buf)), "::1");
	ATF_CHECK_STREQ(addr_str(&ss[1], buf, sizeof(buf)), "127.0.0.3");
	ATF_REQUIRE_EQ(mx_addrs("mx0.multi.test", ss, 8), 1);
	ATF_CHECK_STREQ(addr_str(&ss[0], buf, sizeof(buf)), "127.0.0.2");
}
ATF_TC_CLEANUP(mx_addresses, tc)
{
	dns_stop();
}

ATF_TC_WITH_CLEANUP(mx_nonexistent);
ATF_TC_HEAD(mx_nonexistent, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "a domain that does not exist, or a mail host without an address, is permanent");
	atf_tc_set_md_var(tc, "require.progs", "dnsmasq");
}
ATF_TC_BODY(mx_nonexistent, tc)
{
	struct mx_host		 mx[8];
	struct sockaddr_storage	 ss[8];

	dns_start();
	ATF_CHECK_EQ(mx_lookup("nxdomain.test", mx, 8), MX_NONE);
	ATF_REQUIRE_EQ(mx_lookup("nowhere.test", mx, 8), 1);
	ATF_CHECK_EQ(mx_addrs(mx[0].name, ss, 8), MX_NONE);
}
ATF_TC_CLEANUP(mx_nonexistent, tc)
{
	dns_stop();
}

ATF_TC(mx_server_down);
ATF_TC_HEAD(mx_server_down, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "no answer from the DNS is a temporary failure");
}
ATF_TC_BODY(mx_server_down, tc)
{
	struct mx_host	 mx[8];

	ATF_REQUIRE(res_init() == 0);
	_res.nsaddr_list[0].sin_family = AF_INET;
	_res.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	_res.nsaddr_list[0].sin_port = htons((uint16_t)free_udp_port());
	_res.nscount = 1;
	_res.retrans = 1;
	_res.retry = 1;
	ATF_CHECK_EQ(mx_lookup("multi.test", mx, 8), MX_TEMP);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, mx_preference_order);
	ATF_TP_ADD_TC(tp, mx_equal_preference);
	ATF_TP_ADD_TC(tp, mx_implicit);
	ATF_TP_ADD_TC(tp, mx_addresses);
	ATF_TP_ADD_TC(tp, mx_nonexistent);
	ATF_TP_ADD_TC(tp, mx_server_down);
	return atf_no_error();
}
