/*
 * ast.h -- Waybill's own syntax tree for SQL, produced by pgparse.c from
 * libpg_query's protobuf tree and consumed by the binder.  Nothing outside
 * pgparse.c sees libpg_query types.
 *
 * All nodes and strings live in the arena given to pgparse_parse.
 * Positions are 1-based byte offsets into the SQL text (0 = unknown).
 * Unquoted identifiers arrive lowercased (PostgreSQL folds them); `quoted`
 * says the name must match exactly.
 */
#ifndef WB_AST_H
#define WB_AST_H

#include <stdint.h>

#include "storage/value.h"

typedef enum AstKind {
	AST_COLREF,		/* name [qual.] ; quoted */
	AST_STAR,		/* * or qual.* */
	AST_CONST,		/* val; lit_string: an untyped '...' literal */
	AST_OP,			/* name = operator ("+", "=", ...); 1 or 2 args */
	AST_AND,
	AST_OR,
	AST_NOT,
	AST_FUNC,		/* name (lowercased), args; star = f(*); distinct;
				 * also COALESCE, NULLIF, GREATEST, LEAST, ||
				 * (textcat), CURRENT_TIMESTAMP (now) */
	AST_CAST,		/* args[0] AS name (lowercased type name) */
	AST_IN,			/* args[0] IN (args[1..]); neg */
	AST_BETWEEN,		/* args[0] BETWEEN args[1] AND args[2]; neg */
	AST_LIKE,		/* args[0] LIKE args[1]; neg; ilike */
	AST_NULLTEST,		/* args[0] IS NULL; neg = IS NOT NULL */
	AST_CASE,		/* args: operand (or NULL), when0, then0, ...,
				 * else (or NULL); nargs = 2 + 2 * whens */
	AST_SUBLINK		/* a subquery in an expression (sub): neg = 0
				 * and nargs = 1: args[0] IN (sub); nargs = 0:
				 * EXISTS (sub) when ilike = 1, else the scalar
				 * value of sub.  Replaced by constants before
				 * binding (query.c) */
} AstKind;

struct AstSelect;
struct AstOrder;

/* OVER (PARTITION BY ... ORDER BY ... frame) of a window function call.
 * frame_options holds PostgreSQL's FRAMEOPTION_* bits (AST_FRAME_*). */
typedef struct AstWindow {
	int npart;
	struct Ast **part;
	int norder;
	struct AstOrder *order;
	int frame_options;
	struct Ast *start_off;	/* constant, or NULL */
	struct Ast *end_off;
	int pos;
} AstWindow;

#define AST_FRAME_NONDEFAULT 0x00001
#define AST_FRAME_RANGE 0x00002
#define AST_FRAME_ROWS 0x00004
#define AST_FRAME_GROUPS 0x00008
#define AST_FRAME_BETWEEN 0x00010
#define AST_FRAME_START_UNBOUNDED_PRECEDING 0x00020
#define AST_FRAME_END_UNBOUNDED_PRECEDING 0x00040
#define AST_FRAME_START_UNBOUNDED_FOLLOWING 0x00080
#define AST_FRAME_END_UNBOUNDED_FOLLOWING 0x00100
#define AST_FRAME_START_CURRENT_ROW 0x00200
#define AST_FRAME_END_CURRENT_ROW 0x00400
#define AST_FRAME_START_OFFSET_PRECEDING 0x00800
#define AST_FRAME_END_OFFSET_PRECEDING 0x01000
#define AST_FRAME_START_OFFSET_FOLLOWING 0x02000
#define AST_FRAME_END_OFFSET_FOLLOWING 0x04000
#define AST_FRAME_EXCLUDE_CURRENT_ROW 0x08000
#define AST_FRAME_EXCLUDE_GROUP 0x10000
#define AST_FRAME_EXCLUDE_TIES 0x20000

typedef struct Ast {
	AstKind kind;
	int pos;
	const char *name;
	const char *qual;
	int quoted;
	int lit_string;
	int neg;
	int ilike;
	int star;
	int distinct;
	Value val;
	int nargs;
	struct Ast **args;
	struct Ast *filter;	/* AST_FUNC: an aggregate's FILTER (WHERE ...) */
	struct AstSelect *sub;	/* AST_SUBLINK */
	int array;		/* AST_SUBLINK: ARRAY (sub), the values of its
				 * rows as one multi-value (correlated
				 * subqueries only, query.c) */
	AstWindow *over;	/* AST_FUNC: a window function call */
} Ast;

typedef struct AstTarget {
	Ast *expr;
	const char *alias;	/* AS name, or NULL */
	int pos;
} AstTarget;

typedef struct AstOrder {
	Ast *expr;
	int desc;
	int nulls;		/* 0 default, 1 NULLS FIRST, 2 NULLS LAST */
} AstOrder;

typedef struct AstOption {
	const char *name;	/* SET name (lowercased) */
	Value val;
} AstOption;

enum { AST_SETOP_UNION, AST_SETOP_INTERSECT, AST_SETOP_EXCEPT };

typedef enum AstJoin {
	AST_JOIN_INNER, AST_JOIN_LEFT, AST_JOIN_RIGHT, AST_JOIN_FULL, AST_JOIN_CROSS
} AstJoin;

/* One item of a FROM list with joins: a table or a derived table (or
 * WITH query), the name that qualifies its columns, and how it joins the
 * items before it (ignored for the first). */
typedef struct AstFrom {
	const char *table;	/* a table, or NULL when sub is set */
	const char *schema;
	int table_quoted;
	int table_pos;
	struct AstSelect *sub;
	const char *alias;	/* alias, or the table's / WITH query's name */
	AstJoin join;
	struct Ast *on;		/* ON condition, or NULL */
	int nusing;		/* USING (a, b): names */
	const char **usings;
	int natural;		/* NATURAL JOIN */
	int func;		/* a function in FROM: generate_series(a, b
				 * [, step]) and unnest(array) give rows, any
				 * other function one row (query.c); table
				 * names it */
	struct Ast *fcall;	/* func: the call (AST_FUNC) */
} AstFrom;

typedef struct AstSelect {
	int distinct;
	int ntargets;
	AstTarget *targets;
	const char *table;	/* NULL: no FROM (or a derived table) */
	struct AstSelect *from_sub;	/* FROM (SELECT ...) alias, or a
					 * WITH query named in FROM */
	const char *from_alias;	/* the derived table's name */
	int has_sublink;	/* an expression holds an AST_SUBLINK */
	int has_window;		/* the select list or ORDER BY calls a window
				 * function (query.c runs it through winplan.h) */
	int nbranch;		/* > 0: q is UNION [ALL] of these selects, then
				 * its order / limit / offset */
	struct AstSelect **branches;
	int union_distinct;	/* UNION (not UNION ALL), INTERSECT, EXCEPT
				 * (not ... ALL) */
	int setop;		/* AST_SETOP_*: how the branches combine
				 * (left to right) */
	int ngsets;		/* > 0: GROUPING SETS / ROLLUP / CUBE: each set
				 * a bit mask over group[] (at most 64) */
	uint64_t *gsets;
	int nfrom;		/* > 0: FROM with joins or several items (from[]);
				 * table and from_sub are then unset */
	AstFrom *from;
	const char *schema;	/* "sys" in sys.tables, else NULL */
	int table_quoted;
	int table_pos;
	Ast *where;
	int ngroup;
	Ast **group;
	Ast *having;
	int norder;
	AstOrder *order;
	Ast *limit;		/* NULL = none */
	Ast *offset;
	int explain;
	int noptions;		/* leading SET k = v statements */
	AstOption *options;
} AstSelect;

#endif
