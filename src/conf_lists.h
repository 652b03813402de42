/* What conf.c and conf_lists.c share: how a check fails, the lists. */
#ifndef IOD_CONF_LISTS_H
#define IOD_CONF_LISTS_H

#include <stddef.h>

#include <libconfig.h>

#include "conf.h"

/* Where a failing check writes its one line, and the file to blame. */
struct loadctx {
	const char	*path;
	char		*buf;
	size_t		 len;
};

/* listen: addresses and groups. */
int	conf_set_listen(struct loadctx *, const config_setting_t *,
	    struct iod_conf *);
int	conf_store_listen(struct loadctx *, const config_setting_t *,
	    struct iod_conf *, const char *const *, struct conf_listener *,
	    size_t);

/* Lists of address blocks. */
int	conf_set_cidrs(struct loadctx *, const config_setting_t *,
	    const char *, struct conf_cidrs *);
int	conf_store_cidrs(struct loadctx *, const config_setting_t *,
	    const char *, const char *const *, size_t, struct conf_cidrs *);

/* Freeing. */
void	conf_free_list(char **, size_t);
void	conf_free_opts(struct conf_listener *, size_t);
void	conf_free_cidrs(struct conf_cidrs *);

/* Failing. */
int	conf_fail(struct loadctx *, const config_setting_t *, const char *,
	    ...) __attribute__((__format__(printf, 3, 4)));

#endif
