/* cli_token.c — `lakehouse token new NAME [--role ROLE] [--file PATH]`:
 * a new random token for a person or an agent (ADR 0210, docs/cli.md).
 *
 * The token goes to standard output alone on its line (so a script can
 * capture it); what to do with it goes to standard error. With --file, the
 * line NAME:ROLE:sha256:HEX is appended to that tokens file (created 0600
 * when missing): the file never holds the token itself. Nothing here talks
 * to a server; the services read the file when they start.
 */
#include "cli/cli.h"

#include "common/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void token_usage(FILE *out)
{
	fprintf(out, "usage: lakehouse token new NAME [--role ROLE] [--file PATH]\n\n"
		     "Makes a new random token for NAME (a person or an agent) and prints it.\n"
		     "The server keeps only its SHA-256: add the printed line to the file\n"
		     "named by [auth] tokens_file, or let --file do it, then restart.\n\n"
		     "  --role ROLE  read (default), agent, write or admin:\n"
		     "               read and agent only read, and see personal columns masked;\n"
		     "               write also ingests; admin also drops, renames, collects\n"
		     "               garbage and marks personal columns\n"
		     "  --file PATH  append the hashed line to this tokens file\n");
}

/* 1 if the tokens file `path` already names `name` (0 if not or unreadable:
 * appending then says what went wrong). */
static int file_has_name(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	char line[1100];
	size_t n = strlen(name);
	int found = 0;
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		const char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		found = strncmp(s, name, n) == 0 && s[n] == ':';
	}
	fclose(f);
	return found;
}

/* 1 if the file `fd` is not empty and does not end in a newline. */
static int lacks_final_newline(int fd)
{
	char last;
	off_t end = lseek(fd, 0, SEEK_END);
	return end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n';
}

static int append_line(const char *path, const char *line)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "lakehouse: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (lacks_final_newline(fd) && write(fd, "\n", 1) != 1) {
		fprintf(stderr, "lakehouse: cannot write %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	size_t n = strlen(line), off = 0;
	while (off < n) {
		ssize_t w = write(fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "lakehouse: cannot write %s: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fprintf(stderr, "lakehouse: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int cli_token_main(int argc, char **argv)
{
	const char *name = NULL, *role_s = "read", *file = NULL;
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		token_usage(stdout);
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "new") != 0) {
		token_usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--role") && i + 1 < argc) {
			role_s = argv[++i];
		} else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
			file = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			token_usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !name) {
			name = argv[i];
		} else {
			fprintf(stderr, "lakehouse: unknown or incomplete option \"%s\"\n\n", argv[i]);
			token_usage(stderr);
			return 2;
		}
	}
	if (!name) {
		token_usage(stderr);
		return 2;
	}

	char token[LH_TOKEN_NEW_LEN + 1], line[256], why[200];
	struct lh_token t;
	if (tokens_generate(token) != 0) {
		fprintf(stderr, "lakehouse: the kernel gave no random bytes; no token made\n");
		return 1;
	}
	/* Parse NAME:ROLE:TOKEN as the server will: checks the name and role. */
	snprintf(line, sizeof line, "%s:%s:%s", name, role_s, token);
	if (tokens_parse_line(line, strlen(line), &t, why, sizeof why) != 0) {
		fprintf(stderr, "lakehouse: %s\n", why);
		return 2;
	}
	snprintf(line, sizeof line, "%s:%s:sha256:%s\n", t.name, tokens_role_name(t.role), t.hash);
	if (file && file_has_name(file, t.name)) {
		fprintf(stderr, "lakehouse: %s already has a token named \"%s\"; remove its line "
				"first or choose another name\n", file, t.name);
		return 1;
	}
	if (file && append_line(file, line) != 0)
		return 1;
	printf("%s\n", token);
	fflush(stdout);
	if (file)
		fprintf(stderr, "\nThat is the token for %s (role %s); give it to them, it is not "
				"shown again.\nAdded its hashed line to %s: restart the services "
				"to use it.\n", t.name, tokens_role_name(t.role), file);
	else
		fprintf(stderr, "\nThat is the token for %s (role %s); give it to them, it is not "
				"shown again.\nAdd this line to the file named by [auth] tokens_file "
				"and restart:\n  %s", t.name, tokens_role_name(t.role), line);
	return 0;
}
