/* sql_allow.c — queryd's function allow-list check on DuckDB's own parse tree
 * (ADR 0113). Pure: it reads the JSON DuckDB's json_serialize_sql made of one
 * statement (engine.c asks for it before preparing the statement) and checks
 * it against sql_functions.c.
 *
 * DESIGN NOTES
 *  1. The walk is generic: every object and array of the tree is visited, so
 *     a function call is found wherever DuckDB put it (select list, WHERE,
 *     GROUP BY, HAVING, QUALIFY, ORDER BY, LIMIT, a CTE, a subquery, a set
 *     operation, a lambda, a PIVOT, a join condition, a table function's
 *     arguments, a SHOW/DESCRIBE/SUMMARIZE's query) without this file having
 *     to know each place. Only the meaning of a node is specific:
 *       - an expression (it has "class"): FUNCTION is checked by name, in
 *         its schema; WINDOW by its window type, or for WINDOW_AGGREGATE by
 *         the aggregate's name; the other classes DuckDB's parser makes are
 *         known and harmless; an unknown class is refused (fail closed);
 *       - a table reference, by its "type" wherever it appears:
 *         TABLE_FUNCTION's function is checked as a table function;
 *         BASE_TABLE's name against DuckDB's internal views and file paths
 *         (a replacement scan reads `FROM 'x.parquet'`); SHOW_REF's target;
 *         any other type on an object shaped like a table reference (it has
 *         "alias" and "sample") must be a known one;
 *       - a query node (it has "modifiers" and "cte_map"): a known type;
 *       - a value type {"id": "POINTER"}: refused (SQL text cannot write one;
 *         the serialized plans of issue 22 did).
 *  2. Names are compared case-insensitively; a function may be qualified by
 *     the system catalog and its main or pg_catalog schema, nothing else.
 *     A name not in the list is refused: DuckDB offers no such function (a
 *     typo) or a new one nobody has classified.
 *  3. A table named like one of DuckDB's internal views is checked against
 *     the view list, unless it is one of the `views` queryd created on this
 *     connection (a dataset may be called pg_settings; unqualified, its temp
 *     view is what DuckDB finds first). A name that could make DuckDB read a
 *     file (a replacement scan joins catalog.schema.table: `FROM x.csv`) is
 *     refused: no part may hold / . : \, and a qualified name must name a
 *     system view or one of queryd's views.
 *  4. DuckDB's binder turns eleven bare words (current_date, user, ...) into
 *     calls when no column has that name (GetSQLValueFunctionName); those
 *     COLUMN_REFs are checked as calls of the function they become.
 *  5. list_aggregate and its aliases call an aggregate named by a constant
 *     string argument; that name is checked too.
 */
#include "queryd/queryd_int.h"

#include "common/error.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* ---- EXPLAIN -------------------------------------------------------------- */

/* Skip spaces, -- comments and (nested) block comments. */
static size_t skip_space(const char *s, size_t n, size_t i)
{
	for (;;) {
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
			int depth = 0;
			while (i < n) {
				if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
					depth++;
					i += 2;
				} else if (i + 1 < n && s[i] == '*' && s[i + 1] == '/') {
					i += 2;
					if (--depth == 0)
						break;
				} else {
					i++;
				}
			}
			continue;
		}
		return i;
	}
}

/* If the word at i is `kw` (case-insensitive, whole word), its end; else 0. */
static size_t word_at(const char *s, size_t n, size_t i, const char *kw)
{
	size_t k = strlen(kw);
	if (n - i < k || strncasecmp(s + i, kw, k) != 0)
		return 0;
	if (i + k < n && (isalnum((unsigned char)s[i + k]) || s[i + k] == '_' ||
			  s[i + k] == '$' || (unsigned char)s[i + k] >= 0x80))
		return 0;
	return i + k;
}

size_t sql_allow_explain_body(const char *sql, size_t n)
{
	size_t i = skip_space(sql, n, 0), e = i < n ? word_at(sql, n, i, "EXPLAIN") : 0;
	if (!e)
		return 0;
	i = skip_space(sql, n, e);
	size_t a = i < n ? word_at(sql, n, i, "ANALYZE") : 0;
	return a ? a : e;
}

/* ---- classification ------------------------------------------------------- */

int sql_allow_classified(const char *kind, const char *schema, const char *name)
{
	static const struct {
		const char *kind;
		unsigned bit;
	} kinds[] = {
		{ "scalar", SQL_FN_SCALAR }, { "aggregate", SQL_FN_AGGREGATE },
		{ "macro", SQL_FN_MACRO }, { "table", SQL_FN_TABLE },
		{ "table_macro", SQL_FN_TABLE_MACRO }, { "pragma", SQL_FN_PRAGMA },
	};
	if (!strcmp(kind, "view"))
		return sql_view_find(schema, name) != NULL;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(kind, kinds[i].kind) != 0)
			continue;
		const struct sql_fn *f = sql_fn_find(name);
		return f && (f->kinds & kinds[i].bit);
	}
	return 0;
}

/* ---- the walk ------------------------------------------------------------- */

struct walk {
	const char *const *views;
	size_t nviews;
	struct lh_error *err;
};

static const char *str_field(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(s, list[i]))
			return 1;
	return 0;
}

#define IN(s, ...) in_list((s), (const char *const[]){ __VA_ARGS__ }, \
			   sizeof (const char *const[]){ __VA_ARGS__ } / sizeof(const char *))

static int refuse_construct(struct walk *w, const char *what, const char *value)
{
	return lh_fail(w->err, 400, "forbidden_statement",
		       "this query uses a construct queryd cannot check (%s %.60s), so it is not allowed",
		       what, value);
}

/* Note 2: `name` called in an expression (in_from = 0) or as a table
 * function in a FROM clause (in_from = 1). */
static int check_name(struct walk *w, const char *name, int in_from)
{
	const struct sql_fn *f = sql_fn_find(name);
	unsigned slot = in_from ? SQL_FN_IN_FROM : SQL_FN_IN_EXPR;
	const char *what = in_from ? "table function" : "function";
	if (!f || !(f->kinds & slot))
		return lh_fail(w->err, 400, "forbidden_function",
			       "%s %.80s is not allowed in queries: %s", what, name, sql_why_text(-1));
	if (f->denied & f->kinds & slot)
		return lh_fail(w->err, 400, "forbidden_function",
			       "%s %.80s is not allowed in queries: %s", what, name, sql_why_text(f->why));
	return 0;
}

static int check_qualifier(struct walk *w, const json_t *o, const char *name)
{
	const char *cat = str_field(o, "catalog"), *schema = str_field(o, "schema");
	if ((!*cat || !strcasecmp(cat, "system")) &&
	    (!*schema || IN(schema, "main", "pg_catalog")))
		return 0;
	return lh_fail(w->err, 400, "forbidden_function",
		       "function %s%s%.40s.%.80s is not allowed in queries: only DuckDB's built-in "
		       "functions (optionally qualified by system, main or pg_catalog) may be called",
		       cat, *cat ? "." : "", schema, name);
}

static int check_function(struct walk *w, const json_t *o, int in_from)
{
	const char *name = str_field(o, "function_name");
	if (check_qualifier(w, o, name) || check_name(w, name, in_from))
		return -1;
	if (json_is_true(json_object_get(o, "export_state")))
		return lh_fail(w->err, 400, "forbidden_function",
			       "EXPORT_STATE of %.80s is not allowed in queries: %s", name,
			       sql_why_text(WHY_POINTER));
	if (!in_from && IN(name, "list_aggregate", "aggregate", "list_aggr", "array_aggr",
			   "array_aggregate")) {
		/* Note 5: the aggregate named by the second argument. */
		const json_t *arg = json_array_get(json_object_get(o, "children"), 1);
		const json_t *val = json_object_get(json_object_get(arg, "value"), "value");
		if (!arg || strcmp(str_field(arg, "class"), "CONSTANT") != 0 || !json_is_string(val))
			return lh_fail(w->err, 400, "forbidden_function",
				       "%.80s needs the aggregate's name as a constant string", name);
		return check_name(w, json_string_value(val), 0);
	}
	return 0;
}

/* Note 4: the bare words DuckDB's binder may turn into calls, and the call. */
static const char *const value_words[][2] = {
	{ "current_catalog", "current_catalog" }, { "current_date", "current_date" },
	{ "current_schema", "current_schema" }, { "current_role", "current_role" },
	{ "current_time", "get_current_time" }, { "current_timestamp", "get_current_timestamp" },
	{ "current_user", "current_user" }, { "localtime", "current_localtime" },
	{ "localtimestamp", "current_localtimestamp" }, { "session_user", "session_user" },
	{ "user", "user" },
};

static int check_column_ref(struct walk *w, const json_t *o)
{
	const json_t *names = json_object_get(o, "column_names");
	const char *last = json_string_value(json_array_get(names, json_array_size(names) - 1));
	for (size_t i = 0; last && i < sizeof value_words / sizeof value_words[0]; i++)
		if (!strcasecmp(last, value_words[i][0]))
			return check_name(w, value_words[i][1], 0);
	return 0;
}

static int check_expression(struct walk *w, const json_t *o, const char *cls)
{
	const char *type = str_field(o, "type");
	if (!strcmp(cls, "FUNCTION"))
		return check_function(w, o, 0);
	if (!strcmp(cls, "WINDOW")) {
		if (!strcmp(type, "WINDOW_AGGREGATE"))
			return check_function(w, o, 0);
		if (!IN(type, "WINDOW_ROW_NUMBER", "WINDOW_RANK", "WINDOW_RANK_DENSE",
			"WINDOW_PERCENT_RANK", "WINDOW_CUME_DIST", "WINDOW_NTILE", "WINDOW_LEAD",
			"WINDOW_LAG", "WINDOW_FIRST_VALUE", "WINDOW_LAST_VALUE", "WINDOW_NTH_VALUE",
			"WINDOW_FILL"))
			return refuse_construct(w, "window function", type);
		return check_qualifier(w, o, str_field(o, "function_name"));
	}
	if (!strcmp(cls, "COLUMN_REF"))
		return check_column_ref(w, o);
	if (IN(cls, "CONSTANT", "STAR", "OPERATOR", "COMPARISON", "CONJUNCTION", "CASE", "CAST",
	       "COLLATE", "BETWEEN", "SUBQUERY", "LAMBDA", "LAMBDA_REF", "POSITIONAL_REFERENCE",
	       "PARAMETER", "DEFAULT"))
		return 0;
	return refuse_construct(w, "expression", cls);
}

/* Note 3: a table the statement names. DuckDB's replacement scans read a
 * file for a table it cannot find, named by catalog.schema.table joined with
 * dots ("FROM x.csv", "FROM \"/dir/f\".parquet"), so a qualified name may
 * only name a system view or one of queryd's views, and no part may look
 * like a path. */
static int check_relation(struct walk *w, const json_t *o)
{
	const char *cat = str_field(o, "catalog_name"), *schema = str_field(o, "schema_name");
	const char *name = str_field(o, "table_name");
	int qualified = *cat || *schema, ours = in_list(name, w->views, w->nviews);
	if (strpbrk(cat, "/.:\\") || strpbrk(schema, "/.:\\") || strpbrk(name, "/.:\\"))
		return lh_fail(w->err, 400, "forbidden_function",
			       "reading a file by name ('%.40s%s%.40s%s%.120s') is not allowed in "
			       "queries: %s", cat, *cat ? "." : "", schema, *schema ? "." : "", name,
			       sql_why_text(WHY_FILES));
	if (ours && (!*cat || !strcasecmp(cat, "temp")) && (!*schema || IN(schema, "main", "temp")))
		return 0;
	/* Unqualified, DuckDB looks in main and pg_catalog (not in
	 * information_schema): the search path. */
	const struct sql_view *v = *schema ? sql_view_find(schema, name) : sql_view_find("main", name);
	if (!v && !*schema)
		v = sql_view_find("pg_catalog", name);
	if (qualified && (!v || (*cat && !IN(cat, "system", "temp")) ||
			  (*schema && !IN(schema, "main", "pg_catalog", "information_schema"))))
		return lh_fail(w->err, 400, "forbidden_function",
			       "table %.40s%s%.40s.%.80s is not allowed in queries: a qualified name may "
			       "only name one of DuckDB's system views (x.csv would read a file); "
			       "query datasets by their names", cat, *cat ? "." : "", schema, name);
	if (v && v->denied)
		return lh_fail(w->err, 400, "forbidden_function",
			       "system view %.80s is not allowed in queries: %s", name,
			       sql_why_text(v->why));
	return 0;
}

/* SHOW TABLES, SHOW ALL TABLES, SHOW DATABASES and DESCRIBE/SHOW/SUMMARIZE
 * of a query or table (table_name "") are fine; SHOW VARIABLES is not. */
static int check_show(struct walk *w, const json_t *o)
{
	const char *name = str_field(o, "table_name");
	if (IN(name, "", "\"tables\"", "\"databases\"", "__show_tables_expanded"))
		return 0;
	if (!strcmp(name, "\"variables\""))
		return lh_fail(w->err, 400, "forbidden_function",
			       "SHOW VARIABLES is not allowed in queries: %s", sql_why_text(WHY_SEQUENCE));
	return refuse_construct(w, "SHOW", name);
}

static int walk_value(struct walk *w, const json_t *v);

/* Walk the members of object `o`, leaving out `skip` (or NULL). */
static int walk_members(struct walk *w, const json_t *o, const char *skip)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
		if ((!skip || strcmp(key, skip) != 0) && walk_value(w, v))
			return -1;
	return 0;
}

static int walk_object(struct walk *w, const json_t *o)
{
	const char *cls = json_string_value(json_object_get(o, "class"));
	const char *type = json_string_value(json_object_get(o, "type"));
	if (cls)
		return check_expression(w, o, cls) || walk_members(w, o, NULL) ? -1 : 0;
	if (!strcmp(str_field(o, "id"), "POINTER"))
		return refuse_construct(w, "value of type", "POINTER");
	if (!type)
		return walk_members(w, o, NULL);
	/* The types that name something are checked wherever they appear; the
	 * others only where the node is known to be a table reference or a
	 * query node. */
	if (!strcmp(type, "TABLE_FUNCTION")) {
		const json_t *fn = json_object_get(o, "function");
		if (strcmp(str_field(fn, "class"), "FUNCTION") != 0)
			return refuse_construct(w, "table function", str_field(fn, "class"));
		if (check_function(w, fn, 1) || walk_members(w, fn, NULL))
			return -1;
		return walk_members(w, o, "function");
	}
	if (!strcmp(type, "BASE_TABLE") && check_relation(w, o))
		return -1;
	if (!strcmp(type, "SHOW_REF") && check_show(w, o))
		return -1;
	if (json_object_get(o, "alias") && json_object_get(o, "sample") &&
	    !IN(type, "BASE_TABLE", "SHOW_REF", "JOIN", "SUBQUERY", "EXPRESSION_LIST", "EMPTY",
		"PIVOT"))
		return refuse_construct(w, "table reference", type);
	if (json_object_get(o, "modifiers") && json_object_get(o, "cte_map") &&
	    !IN(type, "SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"))
		return refuse_construct(w, "query", type);
	return walk_members(w, o, NULL);
}

static int walk_value(struct walk *w, const json_t *v)
{
	if (json_is_object(v))
		return walk_object(w, v);
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			if (walk_value(w, x))
				return -1;
	}
	return 0;
}

int sql_allow_check(const char *json, size_t len, const char *const *views, size_t nviews,
		    struct lh_error *err)
{
	struct walk w = { .views = views, .nviews = nviews, .err = err };
	json_error_t jerr;
	int rc = -1;
	/* query_location may be 2^64 - 1, which json_int_t cannot hold. */
	json_t *doc = json_loadb(json, len, JSON_DECODE_INT_AS_REAL, &jerr);
	const json_t *stmts = json_object_get(doc, "statements");
	if (!doc) {
		lh_fail(err, 400, "forbidden_statement",
			"this query is nested too deeply for queryd to check, so it is not allowed");
		goto out;
	}
	if (!json_is_false(json_object_get(doc, "error"))) {
		lh_fail(err, 400, "forbidden_statement",
			"queryd cannot check this statement, so it is not allowed (DuckDB: %.200s)",
			json_string_value(json_object_get(doc, "error_message"))
				? json_string_value(json_object_get(doc, "error_message")) : "no parse");
		goto out;
	}
	if (json_array_size(stmts) != 1) {
		lh_fail(err, 400, "forbidden_statement", "only one statement per request is allowed");
		goto out;
	}
	rc = walk_value(&w, json_array_get(stmts, 0));
out:
	json_decref(doc);
	return rc;
}
