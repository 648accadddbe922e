/*
 * fntext.c -- Pinot's TEXT_MATCH(column, 'query'): full-text search with
 * the Lucene query syntax Pinot's text index accepts, evaluated over the
 * text of each row (Waybill has no text index yet: the scan tokenizes).
 *
 * Analysis, of the row's text and of the query's terms alike (as Lucene's
 * StandardAnalyzer with the English stop words Pinot configures): split
 * into runs of letters and digits (bytes >= 0x80 count as letters), ASCII
 * lowercased, stop words dropped.  "C++ golang" gives "c", "golang".
 *
 * Query syntax (Lucene's classic parser, the subset Pinot users write):
 *   term              a token ("Java"; "C++" analyzes to "c")
 *   "a b c"           a phrase: the tokens consecutive in the text
 *   go*  g?lang       wildcards (* any run, ? one character) on a token
 *   /go.*g/           a regular expression (POSIX ERE) matching a whole token
 *   ( ... )           grouping
 *   a AND b, a && b   both required;  a OR b, a || b, a b: either
 *   +a  -a  NOT a     required / prohibited
 * A group matches when all its required clauses match, none of its
 * prohibited ones do, and -- when it has no required clause -- at least
 * one optional clause does.
 *
 * The query is compiled once per execution context (FnCall.state, freed
 * by free_text); the prep hook compiles it at bind time only to report a
 * bad query.  Per row, the text is tokenized into buffers of the state
 * that grow as needed (no allocation per row once grown).
 *
 * Errors: a malformed query (unbalanced parenthesis or quote, bad regular
 * expression, empty query) is ERR_INVALID at the node's position.
 *
 * Exports: fntext_table.
 */
#include "expr/exprfn.h"
#include "base/mem.h"

#include <regex.h>
#include <string.h>
#include <strings.h>

enum { TQ_TERM, TQ_PHRASE, TQ_WILD, TQ_REGEX, TQ_GROUP };
enum { OCC_SHOULD, OCC_MUST, OCC_NOT };

typedef struct TNode {
	int kind;
	int occ;
	char *text;		/* TERM / WILD: the token; PHRASE: tokens separated by NUL */
	int ntok;		/* PHRASE: token count */
	regex_t re;		/* REGEX */
	int has_re;
	int nkids;		/* GROUP */
	struct TNode **kids;
} TNode;

typedef struct TextQ {
	TNode *root;
	/* per-row tokens: NUL-terminated, lowercased copies in buf */
	char *buf;
	size_t bufcap;
	uint32_t *tok;		/* offsets of the tokens in buf */
	size_t tokcap;
	size_t ntok;
} TextQ;

static const char *const stop_words[] = {
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
	"it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
	"these", "they", "this", "to", "was", "will", "with",
};

static int
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int
is_stop_ci(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(stop_words) / sizeof(stop_words[0]); i++)
		if (strlen(stop_words[i]) == n && strncasecmp(stop_words[i], w, n) == 0)
			return 1;
	return 0;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void
free_node(TNode *n)
{
	if (n == NULL)
		return;
	for (int i = 0; i < n->nkids; i++)
		free_node(n->kids[i]);
	mem_free(n->kids);
	mem_free(n->text);
	if (n->has_re)
		regfree(&n->re);
	mem_free(n);
}

static void
free_text(void *st)
{
	TextQ *q = st;
	if (q == NULL)
		return;
	free_node(q->root);
	mem_free(q->buf);
	mem_free(q->tok);
	mem_free(q);
}

/* ---- analysis ------------------------------------------------------------ */

/* Tokenizes s[0..n) into q's buffers; ERR_NOMEM. */
static int
tokenize(TextQ *q, const char *s, size_t n)
{
	q->ntok = 0;
	if (n + 1 > q->bufcap) {
		size_t cap = q->bufcap ? q->bufcap : 256;
		while (cap < n + 1)
			cap *= 2;
		char *nb = mem_realloc(q->buf, cap);
		if (nb == NULL)
			return ERR_NOMEM;
		q->buf = nb;
		q->bufcap = cap;
	}
	size_t o = 0, i = 0;
	while (i < n) {
		while (i < n && !is_word((unsigned char)s[i]))
			i++;
		size_t st = i;
		while (i < n && is_word((unsigned char)s[i]))
			i++;
		if (i == st)
			break;
		if (is_stop_ci(s + st, i - st))
			continue;
		if (q->ntok == q->tokcap) {
			size_t cap = q->tokcap ? q->tokcap * 2 : 32;
			uint32_t *nt = mem_realloc(q->tok, cap * sizeof(uint32_t));
			if (nt == NULL)
				return ERR_NOMEM;
			q->tok = nt;
			q->tokcap = cap;
		}
		q->tok[q->ntok++] = (uint32_t)o;
		for (size_t k = st; k < i; k++)
			q->buf[o++] = lower(s[k]);
		q->buf[o++] = '\0';	/* a token and its separator fit in n + 1 */
	}
	return 0;
}

/* ---- parsing -------------------------------------------------------------- */

typedef struct P {
	const char *s;
	size_t n, i;
	Err *err;
	int depth;
} P;

static TNode *
new_node(int kind)
{
	TNode *t = mem_calloc(1, sizeof(TNode));
	if (t != NULL)
		t->kind = kind;
	return t;
}

static int
add_kid(TNode *g, TNode *k)
{
	TNode **nk = mem_realloc(g->kids, sizeof(TNode *) * (size_t)(g->nkids + 1));
	if (nk == NULL)
		return ERR_NOMEM;
	g->kids = nk;
	g->kids[g->nkids++] = k;
	return 0;
}

/* The analyzed tokens of s[0..n), NUL-separated, in *out (owned); *cnt
 * tokens.  *out is NULL when there are none. */
static int
analyze(const char *s, size_t n, char **out, int *cnt)
{
	*out = NULL;
	*cnt = 0;
	char *b = mem_alloc(n + 1);
	if (b == NULL)
		return ERR_NOMEM;
	size_t o = 0, i = 0;
	while (i < n) {
		while (i < n && !is_word((unsigned char)s[i]))
			i++;
		size_t st = i;
		while (i < n && is_word((unsigned char)s[i]))
			i++;
		if (i == st)
			break;
		if (is_stop_ci(s + st, i - st))
			continue;
		for (size_t k = st; k < i; k++)
			b[o++] = lower(s[k]);
		b[o++] = '\0';
		(*cnt)++;
	}
	if (*cnt == 0) {
		mem_free(b);
		return 0;
	}
	*out = b;
	return 0;
}

static int parse_group(P *p, TNode *g, int close);

static void
skip_ws(P *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
			       p->s[p->i] == '\r'))
		p->i++;
}

static int
is_special(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')' || c == '"';
}

/* One clause at p->i into *out (NULL when it analyzes to nothing). */
static int
parse_clause(P *p, TNode **out)
{
	*out = NULL;
	char c = p->s[p->i];
	int rc;
	if (c == '(') {
		if (++p->depth > 64)
			return err_set(p->err, ERR_INVALID, "text_match: query nested too deeply");
		p->i++;
		TNode *g = new_node(TQ_GROUP);
		if (g == NULL)
			return ERR_NOMEM;
		if ((rc = parse_group(p, g, 1)) != 0) {
			free_node(g);
			return rc;
		}
		p->depth--;
		*out = g;
		return 0;
	}
	if (c == '"') {
		size_t st = ++p->i;
		while (p->i < p->n && p->s[p->i] != '"')
			p->i += p->s[p->i] == '\\' && p->i + 1 < p->n ? 2 : 1;
		if (p->i >= p->n)
			return err_set(p->err, ERR_INVALID, "text_match: unterminated phrase");
		size_t en = p->i++;
		TNode *t = new_node(TQ_PHRASE);
		if (t == NULL)
			return ERR_NOMEM;
		if ((rc = analyze(p->s + st, en - st, &t->text, &t->ntok)) != 0) {
			free_node(t);
			return rc;
		}
		if (t->ntok == 0) {
			free_node(t);
			return 0;
		}
		*out = t;
		return 0;
	}
	if (c == '/') {
		size_t st = ++p->i;
		while (p->i < p->n && p->s[p->i] != '/')
			p->i += p->s[p->i] == '\\' && p->i + 1 < p->n ? 2 : 1;
		if (p->i >= p->n)
			return err_set(p->err, ERR_INVALID, "text_match: unterminated regular expression");
		size_t en = p->i++;
		TNode *t = new_node(TQ_REGEX);
		char *pat = mem_alloc(en - st + 5);
		if (t == NULL || pat == NULL) {
			mem_free(pat);
			free_node(t);
			return ERR_NOMEM;
		}
		pat[0] = '^';
		pat[1] = '(';
		memcpy(pat + 2, p->s + st, en - st);
		memcpy(pat + 2 + (en - st), ")$", 3);
		int r = regcomp(&t->re, pat, REG_EXTENDED | REG_NOSUB);
		mem_free(pat);
		if (r != 0) {
			free_node(t);
			return err_set(p->err, ERR_INVALID, "text_match: invalid regular expression /%.*s/",
				       (int)(en - st), p->s + st);
		}
		t->has_re = 1;
		*out = t;
		return 0;
	}
	size_t st = p->i;
	int wild = 0;
	while (p->i < p->n && !is_special(p->s[p->i])) {
		if (p->s[p->i] == '\\' && p->i + 1 < p->n)
			p->i++;
		else if (p->s[p->i] == '*' || p->s[p->i] == '?')
			wild = 1;
		p->i++;
	}
	size_t len = p->i - st;
	if (wild) {
		TNode *t = new_node(TQ_WILD);
		if (t == NULL || (t->text = mem_alloc(len + 1)) == NULL) {
			free_node(t);
			return ERR_NOMEM;
		}
		for (size_t k = 0; k < len; k++)
			t->text[k] = lower(p->s[st + k]);
		t->text[len] = '\0';
		*out = t;
		return 0;
	}
	/* a term analyzing to several tokens ("foo-bar") is their OR */
	char *toks;
	int cnt;
	if ((rc = analyze(p->s + st, len, &toks, &cnt)) != 0)
		return rc;
	if (cnt == 0)
		return 0;
	TNode *g = cnt > 1 ? new_node(TQ_GROUP) : NULL;
	if (cnt > 1 && g == NULL) {
		mem_free(toks);
		return ERR_NOMEM;
	}
	const char *w = toks;
	for (int k = 0; k < cnt; k++, w += strlen(w) + 1) {
		TNode *t = new_node(TQ_TERM);
		if (t == NULL || (t->text = mem_alloc(strlen(w) + 1)) == NULL) {
			free_node(t);
			free_node(g);
			mem_free(toks);
			return ERR_NOMEM;
		}
		memcpy(t->text, w, strlen(w) + 1);
		if (g == NULL) {
			*out = t;
		} else if (add_kid(g, t) != 0) {
			free_node(t);
			free_node(g);
			mem_free(toks);
			return ERR_NOMEM;
		}
	}
	mem_free(toks);
	if (g != NULL)
		*out = g;
	return 0;
}

static int
word_at(P *p, const char *w)
{
	size_t n = strlen(w);
	return p->i + n <= p->n && memcmp(p->s + p->i, w, n) == 0 &&
	       (p->i + n == p->n || is_special(p->s[p->i + n]));
}

/* Clauses up to the end (close 0) or a ')' (close 1) into group g. */
static int
parse_group(P *p, TNode *g, int close)
{
	int conj = 0;		/* 0 none, 1 AND, 2 OR: between previous and next */
	int rc;
	for (;;) {
		skip_ws(p);
		if (p->i >= p->n) {
			if (close)
				return err_set(p->err, ERR_INVALID, "text_match: missing ')'");
			break;
		}
		if (p->s[p->i] == ')') {
			if (!close)
				return err_set(p->err, ERR_INVALID, "text_match: unbalanced ')'");
			p->i++;
			break;
		}
		if (word_at(p, "AND") || word_at(p, "&&")) {
			p->i += p->s[p->i] == 'A' ? 3 : 2;
			conj = 1;
			continue;
		}
		if (word_at(p, "OR") || word_at(p, "||")) {
			p->i += 2;
			conj = 2;
			continue;
		}
		int occ = OCC_SHOULD;
		if (word_at(p, "NOT")) {
			p->i += 3;
			skip_ws(p);
			occ = OCC_NOT;
		} else if (p->s[p->i] == '+' || p->s[p->i] == '-' || p->s[p->i] == '!') {
			occ = p->s[p->i] == '+' ? OCC_MUST : OCC_NOT;
			p->i++;
		}
		if (p->i >= p->n)
			return err_set(p->err, ERR_INVALID, "text_match: operator without an operand");
		TNode *t;
		if ((rc = parse_clause(p, &t)) != 0)
			return rc;
		if (t == NULL) {
			conj = 0;
			continue;
		}
		if (conj == 1 && occ == OCC_SHOULD)
			occ = OCC_MUST;
		if (conj == 1 && g->nkids > 0 && g->kids[g->nkids - 1]->occ == OCC_SHOULD)
			g->kids[g->nkids - 1]->occ = OCC_MUST;
		t->occ = occ;
		if ((rc = add_kid(g, t)) != 0) {
			free_node(t);
			return rc;
		}
		conj = 0;
	}
	return 0;
}

static int
compile(const char *s, size_t n, TextQ **out, Err *err)
{
	TextQ *q = mem_calloc(1, sizeof(TextQ));
	if (q == NULL || (q->root = new_node(TQ_GROUP)) == NULL) {
		mem_free(q);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	P p = {.s = s, .n = n, .err = err};
	int rc = parse_group(&p, q->root, 0);
	if (rc == ERR_NOMEM)
		rc = err_set(err, ERR_NOMEM, "out of memory");
	if (rc == 0 && q->root->nkids == 0)
		rc = err_set(err, ERR_INVALID, "text_match: the query '%.*s' has no terms", (int)n, s);
	if (rc != 0) {
		free_text(q);
		return rc;
	}
	*out = q;
	return 0;
}

/* ---- matching --------------------------------------------------------------- */

/* Wildcard match of token s against pattern p (* any run, ? one byte,
 * backslash escapes): the greedy algorithm that backtracks only to the
 * last '*', so time stays O(|p| |s|) whatever the pattern. */
static int
glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s != '\0') {
		if (*p == '*') {
			star = ++p;
			resume = s;
			continue;
		}
		char pc = *p;
		const char *pn = p + 1;
		if (pc == '\\' && p[1] != '\0') {
			pc = p[1];
			pn = p + 2;
		} else if (pc == '?') {
			p++;
			s++;
			continue;
		}
		if (pc != '\0' && pc == *s) {
			p = pn;
			s++;
			continue;
		}
		if (star == NULL)
			return 0;
		p = star;
		s = ++resume;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static int
match(const TextQ *q, const TNode *t)
{
	const char *b = q->buf;
	switch (t->kind) {
	case TQ_TERM:
		for (size_t i = 0; i < q->ntok; i++)
			if (strcmp(b + q->tok[i], t->text) == 0)
				return 1;
		return 0;
	case TQ_WILD:
		for (size_t i = 0; i < q->ntok; i++)
			if (glob(t->text, b + q->tok[i]))
				return 1;
		return 0;
	case TQ_REGEX:
		for (size_t i = 0; i < q->ntok; i++)
			if (regexec(&t->re, b + q->tok[i], 0, NULL, 0) == 0)
				return 1;
		return 0;
	case TQ_PHRASE:
		for (size_t i = 0; i + (size_t)t->ntok <= q->ntok; i++) {
			const char *w = t->text;
			int k = 0;
			while (k < t->ntok && strcmp(b + q->tok[i + (size_t)k], w) == 0) {
				w += strlen(w) + 1;
				k++;
			}
			if (k == t->ntok)
				return 1;
		}
		return 0;
	default: {
		int must = 0, should = 0, any = 0;
		for (int i = 0; i < t->nkids; i++) {
			const TNode *k = t->kids[i];
			int m = match(q, k);
			if (k->occ == OCC_NOT) {
				if (m)
					return 0;
			} else if (k->occ == OCC_MUST) {
				if (!m)
					return 0;
				must = 1;
			} else {
				should = 1;
				any |= m;
			}
		}
		return must || (should && any);
	}
	}
}

/* ---- the SQL function ----------------------------------------------------------- */

static int
prep_text(Expr *e, Arena *a, Err *err)
{
	(void)a;
	const Expr *qa = e->args[1];
	if (qa->kind != EXPR_CONST)
		return err_set(err, ERR_UNSUPPORTED, "text_match: the query must be a constant");
	if (qa->val.null)
		return 0;
	TextQ *q;
	int rc = compile(qa->val.u.s, qa->val.n, &q, err);
	if (rc == 0)
		free_text(q);
	return rc;
}

static int
f_text_match(FnCall *c)
{
	if (*c->state == NULL) {
		const Value *qv = &c->e->args[1]->val;
		TextQ *q;
		if (compile(qv->u.s, qv->n, &q, c->err) != 0) {
			c->err->pos = c->e->pos;
			return c->err->code;
		}
		*c->state = q;
	}
	TextQ *q = *c->state;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = exprfn_str(c->a[0], r, &n);
		if (tokenize(q, s, n) != 0)
			return exprfn_fail(c, ERR_NOMEM, "out of memory in text_match");
		c->oi[r] = match(q, q->root);
	}
	return 0;
}

const ExprFn fntext_table[] = {
	{"text_match", "SS", 'B', FN_STRICT | FN_CONSTARGS, prep_text, f_text_match, free_text},
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};
