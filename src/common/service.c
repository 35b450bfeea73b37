/* service.c — flags, configuration and signals around each server
 * subcommand (see service.h). */
#include "common/service.h"

#include "common/auth.h"
#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
#include "common/service_help.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* Open descriptors a server may want: one per connection (up to
 * [http] max_connections, default 2048) plus upstream calls, spool and cache
 * files. The soft limit is often 1024; raise it to the hard limit, capped. */
#define SERVICE_NOFILE_WANTED 65536

extern char **environ;

void service_signals_block(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int service_wait_for_signal(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	return sig;
}

/* The about text lives in service_help.c, one entry per subcommand. */
static void usage(const char *cmd, const char *section)
{
	const char *about = service_help_about(cmd);
	printf("usage: lakehouse %s [--config FILE] [--data-dir DIR] [--bind HOST:PORT]\n"
	       "                 [--set section.key=value ...] [--log MODE]\n\n%s\n",
	       cmd, about ? about : "Runs a lakehouse service.\n");
	printf("  --config FILE       settings file (default ./lakehouse.toml if it exists)\n"
	       "  --data-dir DIR      where the data lives (default ./lakehouse-data)\n"
	       "  --bind HOST:PORT    the address to listen on; sets [%s] bind\n"
	       "  --set S.KEY=VALUE   any setting, e.g. --set queryd.max_rows=10000\n"
	       "                      (repeatable)\n"
	       "  --log MODE          human (short lines; the default on a terminal), json\n"
	       "                      (the default otherwise), quiet (problems only) or\n"
	       "                      auto; also LAKEHOUSE_LOG\n",
	       section);
	printf("\nLater layers win: defaults, the file, LAKEHOUSE_* variables, these flags\n"
	       "(docs/configuration.md). Stops on SIGTERM or Ctrl-C once the requests in\n"
	       "flight have finished.\n");
}

/* "section.key=value" -> config_set */
static int apply_set(struct lh_config *cfg, const char *arg, struct lh_error *err)
{
	const char *dot = strchr(arg, '.');
	const char *eq = strchr(arg, '=');
	if (!dot || !eq || dot > eq)
		return lh_fail(err, 400, "bad_flag", "--set expects section.key=value, got \"%s\"", arg);
	char section[64], key[128];
	size_t sl = (size_t)(dot - arg), kl = (size_t)(eq - dot - 1);
	if (sl >= sizeof section || kl >= sizeof key)
		return lh_fail(err, 400, "bad_flag", "--set name too long: \"%s\"", arg);
	memcpy(section, arg, sl);
	section[sl] = '\0';
	memcpy(key, dot + 1, kl);
	key[kl] = '\0';
	return config_set(cfg, section, key, eq + 1, err);
}

void service_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > SERVICE_NOFILE_WANTED
			      ? SERVICE_NOFILE_WANTED : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		setrlimit(RLIMIT_NOFILE, &rl);   /* best effort: the old limit still works */
	}
}

/* The log mode (ADR 0121): --log, else LAKEHOUSE_LOG, else the file's
 * `log`, else auto. `front` is the service whose requests human lines show. */
static int log_configure(const struct lh_config *cfg, const char *flag, const char *front,
			 struct lh_error *err)
{
	enum log_mode mode = LOG_MODE_AUTO;
	const char *env = getenv("LAKEHOUSE_LOG");
	const char *from = "log", *value = cfg->log[0] ? cfg->log : NULL;
	if (flag) {
		from = "--log";
		value = flag;
	} else if (env && env[0]) {
		from = "LAKEHOUSE_LOG";
		value = env;
	}
	if (value && log_mode_parse(value, &mode) != 0)
		return lh_fail(err, 400, "bad_flag",
			       "%s expects auto, json, human or quiet, got \"%.40s\"", from, value);
	log_setup(mode, front);
	return 0;
}

int service_load_config(int argc, char **argv, const char *section,
			struct lh_config *cfg, struct lh_error *err)
{
	const char *config_path = NULL, *log_flag = NULL;
	service_raise_nofile();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(argv[0], section);
			return 1;
		}
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config_path = argv[++i];
	}
	if (config_load(cfg, config_path, environ, err) != 0)
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--config")) {
			i++;
		} else if (!strcmp(a, "--data-dir") && v) {
			if (config_set(cfg, "", "data_dir", v, err) != 0)
				return -1;
			i++;
		} else if (!strcmp(a, "--bind") && v) {
			if (config_set(cfg, section, "bind", v, err) != 0)
				return -1;
			i++;
		} else if (!strcmp(a, "--set") && v) {
			if (apply_set(cfg, v, err) != 0)
				return -1;
			i++;
		} else if (!strcmp(a, "--log") && v) {
			log_flag = v;
			i++;
		} else {
			return lh_fail(err, 400, "bad_flag", "unknown or incomplete flag \"%s\" (see --help)", a);
		}
	}
	config_finish(cfg);
	if (auth_tokens_load(cfg, err) != 0)
		return -1;
	return log_configure(cfg, log_flag, section, err);
}

int service_die_hint(struct lh_error *err, const char *hint)
{
	const char *msg = err->msg[0] ? err->msg : "failed";
	/* JSON logs: the fatal line is a JSON event too (ADR 0207), or `jq`
	 * over the journal stops at the one line that matters most. */
	if (log_is_human()) {
		fprintf(stderr, "lakehouse: %s\n", msg);
		if (hint)
			fprintf(stderr, "lakehouse: %s\n", hint);
	} else {
		log_event("error", "lakehouse", "lakehouse: %s%s%s", msg, hint ? "; " : "",
			  hint ? hint : "");
	}
	lh_error_clear(err);
	return 1;
}

int service_die(struct lh_error *err)
{
	return service_die_hint(err, NULL);
}

int service_mkdirs(const char *path, struct lh_error *err)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof buf)
		return lh_fail(err, 500, "internal", "bad directory path");
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return lh_fail(err, 500, "storage_error", "cannot create directory %s: %s",
				       buf, strerror(errno));
		buf[i] = saved;
	}
	return 0;
}

int service_run(int argc, char **argv, const struct service_ops *ops)
{
	struct lh_config cfg;
	struct lh_error err = { 0 };
	int rc = service_load_config(argc, argv, ops->name, &cfg, &err);
	if (rc == 1)
		return 0;   /* --help */
	if (rc)
		return service_die(&err);
	void *svc = ops->start(&cfg, &err);
	if (!svc)
		return service_die(&err);
	/* Logs are JSON lines only (issue 23, ADR 0207): a plain line on stdout
	 * would break `jq` where stdout and stderr are one stream (journald). */
	if (log_is_human()) {
		printf("%s listening on %s\n", ops->name, ops->url(svc));
		fflush(stdout);
	} else {
		log_announce(ops->name, ops->url(svc), "%s listening on %s", ops->name,
			     ops->url(svc));
	}
	service_wait_for_signal();
	ops->stop(svc);
	return 0;
}
