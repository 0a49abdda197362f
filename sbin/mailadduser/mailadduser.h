/* mailadduser(8): what its files share. */

#ifndef MAILADDUSER_H
#define MAILADDUSER_H

#include "libmail.h"

/* Longest password taken from a descriptor or a terminal. */
#define PASSWORD_MAX	1024

struct ctx {
	struct conf	conf;
	uid_t		uid;		/* of the mail user */
	gid_t		gid;
	struct mapset	ms;
	int		ms_open;
	struct caller	caller;		/* who runs us: root, or an owner */
	int		keepfd;		/* -h fd or -H fd, else -1 */
};

/* password.c */
#define PW_PROMPT	0	/* ask on the terminal, twice */
#define PW_CLEAR	1	/* -h fd */
#define PW_HASH		2	/* -H fd */
struct pwsource {
	int	how;
	int	fd;
	const char *scheme;
};
int	 pwsource_option(struct pwsource *, int opt, const char *arg);
void	 pwsource_hash(const struct pwsource *, const char *addr, char *out,
	    size_t outlen);

/* list.c */
int	 cmd_list(struct ctx *, int, char **);

/* info.c */
int	 cmd_info(struct ctx *, int, char **);

/* mailadduser.c */
__dead void usage(void);
void	 ctx_load(struct ctx *, int write);
void	 ctx_maps_open(struct ctx *, int flags);	/* MAPSET_* */
void	 ctx_close(struct ctx *);
void	 ctx_check_owner(struct ctx *, const char *key, const char *domain,
	    const char *local);
struct mapsrc_line *ctx_find_user(struct ctx *, const char *,
	    struct mapsrc_user *);
void	 ctx_parse_address(const char *, struct mailaddr *, char *, size_t);

#endif /* !MAILADDUSER_H */
