/* format_words.c — how an upload was read, in words (format_words.h). */
#include "common/format_words.h"

#include <stdio.h>
#include <string.h>

int format_words(const json_t *format, char *out, size_t n)
{
	const char *name = json_string_value(json_object_get(format, "name"));
	if (n)
		out[0] = '\0';
	if (!name || !n)
		return -1;
	const char *delim = json_string_value(json_object_get(format, "delimiter"));
	const char *layout = json_string_value(json_object_get(format, "layout"));
	const char *sheet = json_string_value(json_object_get(format, "sheet"));
	if (delim) {
		static const struct {
			const char *d, *word;
		} words[] = { { ",", "comma" }, { ";", "semicolon" }, { "\t", "tab" },
			      { "|", "pipe" } };
		const char *word = NULL;
		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			if (!strcmp(delim, words[i].d))
				word = words[i].word;
		if (word)
			snprintf(out, n, "read as %s-separated text", word);
		else
			snprintf(out, n, "read as text separated by \"%s\"", delim);
	} else if (!strcmp(name, "json")) {
		snprintf(out, n, "%s", !layout ? "read as JSON"
			 : !strcmp(layout, "ndjson") ? "read as NDJSON"
			 : "read as a JSON array of objects");
	} else if (!strcmp(name, "xlsx")) {
		if (sheet)
			snprintf(out, n, "read sheet %s of the workbook", sheet);
		else
			snprintf(out, n, "read as an Excel workbook");
	} else if (!strcmp(name, "parquet")) {
		snprintf(out, n, "%s", json_is_true(json_object_get(format, "stored_as_is"))
			 ? "stored the Parquet file as it is" : "converted the Parquet file");
	} else {
		snprintf(out, n, "read as %s", name);
	}
	return 0;
}
