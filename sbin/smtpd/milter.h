/*
 * milter.h: what milter.c (the connection, the commands, the verdicts)
 * and milter_eom.c (the message at its end, the filters' edits) share.
 * The protocol is sendmail's libmilter protocol, version 6, as
 * Postfix speaks it: packets of a 4-octet length in network order
 * (counting the command octet), a command octet, then its data.
 */
#ifndef MILTER_H
#define MILTER_H

#include <stdint.h>

/* Commands, MTA to filter. */
#define SMFIC_ABORT	'A'
#define SMFIC_BODY	'B'
#define SMFIC_CONNECT	'C'
#define SMFIC_MACRO	'D'
#define SMFIC_BODYEOB	'E'
#define SMFIC_HELO	'H'
#define SMFIC_HEADER	'L'
#define SMFIC_MAIL	'M'
#define SMFIC_EOH	'N'
#define SMFIC_OPTNEG	'O'
#define SMFIC_QUIT	'Q'
#define SMFIC_RCPT	'R'
#define SMFIC_DATA	'T'

/* Replies, filter to MTA. */
#define SMFIR_ADDRCPT	'+'
#define SMFIR_DELRCPT	'-'
#define SMFIR_SHUTDOWN	'4'
#define SMFIR_ACCEPT	'a'
#define SMFIR_REPLBODY	'b'
#define SMFIR_CONTINUE	'c'
#define SMFIR_DISCARD	'd'
#define SMFIR_CHGFROM	'e'
#define SMFIR_CONN_FAIL	'f'
#define SMFIR_ADDHEADER	'h'
#define SMFIR_INSHEADER	'i'
#define SMFIR_CHGHEADER	'm'
#define SMFIR_PROGRESS	'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT	'r'
#define SMFIR_SKIP	's'
#define SMFIR_TEMPFAIL	't'
#define SMFIR_REPLYCODE	'y'

/* Actions a filter may take (the second word of SMFIC_OPTNEG). */
#define SMFIF_ADDHDRS	0x01
#define SMFIF_CHGBODY	0x02
#define SMFIF_ADDRCPT	0x04
#define SMFIF_DELRCPT	0x08
#define SMFIF_CHGHDRS	0x10
#define SMFIF_QUARANTINE 0x20
#define SMFIF_CHGFROM	0x40
#define MILTER_ACTIONS	0x7f	/* all of these: what we offer */

/* Protocol steps (the third word): what not to send, not to answer. */
#define SMFIP_NOCONNECT	0x01
#define SMFIP_NOHELO	0x02
#define SMFIP_NOMAIL	0x04
#define SMFIP_NORCPT	0x08
#define SMFIP_NOBODY	0x10
#define SMFIP_NOHDRS	0x20
#define SMFIP_NOEOH	0x40
#define SMFIP_NR_HDR	0x80
#define SMFIP_NOUNKNOWN	0x100
#define SMFIP_NODATA	0x200
#define SMFIP_SKIP	0x400		/* we understand SMFIR_SKIP */
#define SMFIP_RCPT_REJ	0x800		/* not offered */
#define SMFIP_NR_CONN	0x1000
#define SMFIP_NR_HELO	0x2000
#define SMFIP_NR_MAIL	0x4000
#define SMFIP_NR_RCPT	0x8000
#define SMFIP_NR_DATA	0x10000
#define SMFIP_NR_UNKN	0x20000
#define SMFIP_NR_EOH	0x40000
#define SMFIP_NR_BODY	0x80000
#define SMFIP_HDR_LEADSPC 0x100000	/* header values as they are */
/* Everything above but SMFIP_RCPT_REJ. */
#define MILTER_PROTOCOL	0x1ff7ff

#define MILTER_VERSION	6
#define MILTER_CHUNK	65535		/* largest SMFIC_BODY */
/* Largest packet taken: a SMFIR_REPLBODY chunk of 1M and more. */
#define MILTER_PACKET_MAX (1024 * 1024 + 64)
/* A filter's SMFIR_REPLYCODE text, all its lines. */
#define MILTER_REPLY_MAX	2048

/* What a filter said of a stage (milter_ask). */
#define MV_CONTINUE	0
#define MV_ACCEPT	1	/* this filter is done: session or message */
#define MV_REJECT	2
#define MV_TEMPFAIL	3
#define MV_DISCARD	4
#define MV_SKIP		5	/* no more body */
#define MV_SHUTDOWN	6	/* 421 and the close */
#define MV_ERROR	7	/* down, timed out, out of protocol */

/* A filter of the session. */
#define MILTER_ON		0
#define MILTER_SESSION_DONE	1	/* accepted the connection */
#define MILTER_MSG_DONE		2	/* accepted this message */
#define MILTER_DOWN		3

struct milter {
	const struct conf_milter *conf;
	int		 fd;
	int		 state;		/* MILTER_* */
	int		 inmsg;		/* MAIL sent, no EOM or ABORT yet */
	uint32_t	 actions;	/* SMFIF_* agreed */
	uint32_t	 proto;		/* SMFIP_* agreed */
};

/* A growing buffer for the data of a packet. */
struct mbuf {
	char		*p;
	size_t		 len;
	size_t		 cap;
	int		 error;		/* out of memory: the packet is lost */
};

struct milter_set {
	struct milter	*m;
	size_t		 n;
	struct mbuf	 buf;
	/* From CONNECT or HELO, for every MAIL of the session. */
	int		 verdict;	/* MV_CONTINUE, _REJECT, _TEMPFAIL */
	char		 sreply[MILTER_REPLY_MAX];
	/* The stage at hand: a filter's own reply ("": ours). */
	char		 reply[MILTER_REPLY_MAX];
	int		 discard;	/* this message */
	const char	*rcpt;		/* at SMFIC_RCPT, for its macro */
};

/*
 * An edit of the message that a filter sent at its end: the caller
 * of milter_ask gets each one (cmd, data, len); 0, or -1 for a reply
 * out of protocol.
 */
typedef int	(*milter_edit_fn)(void *, const struct milter *, int,
		    const char *, size_t);

void	 mbuf_reset(struct mbuf *);
void	 mbuf_add(struct mbuf *, const void *, size_t);
void	 mbuf_str(struct mbuf *, const char *);	/* with its NUL */
/*
 * Sends cmd with the data in buf to m (unless m asked not to get it)
 * and reads its answer (unless m said it gives none): MV_*, with a
 * SMFIR_REPLYCODE text in set->reply.  edit takes the edits (only at
 * SMFIC_BODYEOB).  MV_ERROR has closed m and logged why.
 */
int	 milter_ask(struct session *, struct milter *, int cmd,
	    const struct mbuf *, milter_edit_fn, void *);
/* The macros of a stage (SMFIC_MACRO), before cmd. */
int	 milter_macros(struct session *, struct milter *, int cmd);
/*
 * The verdict of one filter on a stage, kept or mapped as the
 * session's policy says: MV_ERROR becomes MV_TEMPFAIL or MV_CONTINUE
 * (milter_default), MV_ACCEPT marks the filter done.
 */
int	 milter_verdict(struct session *, struct milter *, int v,
	    int session);
/*
 * The reply for a verdict that refuses (MV_REJECT, _TEMPFAIL,
 * _SHUTDOWN), the filter's own text or ours for what.
 */
void	 milter_reply(struct session *, int v, const char *text,
	    const char *what);

/* milter_eom.c */
int	 milter_eom_run(struct session *);

#endif /* !MILTER_H */
