/*
 * test_flowdef.c -- flow definitions: the simulator's order flow and its
 * dominator / ancestor / descendant masks, source defaults, every
 * validation error with its JSON path, durations, the canonical JSON
 * round trip, malformed and mistyped input (no crash, no leak, an error),
 * allocation failure, and flowdef_check against a real catalog.
 *
 * JSON in this file is written with ' for " (see q()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/mem.h"
#include "lifecycle/flowdef.h"
#include "table/catalog.h"

/* s with every ' turned into "; the caller frees it (mem_free). */
static char *
q(const char *s)
{
	char *r = mem_strdup(s);
	assert_non_null(r);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

static FlowDef *
parse_ok(const char *json)
{
	char *j = q(json);
	FlowDef *d = NULL;
	Err e = {0};
	int rc = flowdef_parse(j, strlen(j), NULL, &d, &e);
	if (rc != 0)
		print_error("unexpected error: %s\nin %s\n", e.msg, j);
	mem_free(j);
	assert_int_equal(rc, 0);
	assert_non_null(d);
	return d;
}

static void
expect_err(const char *json, int code, const char *msg)
{
	char *j = q(json);
	FlowDef *d = NULL;
	Err e = {0};
	int rc = flowdef_parse(j, strlen(j), NULL, &d, &e);
	if (rc == 0 || strcmp(e.msg, msg) != 0)
		print_error("input: %s\nwant:  %s\ngot:   %s (%d)\n", j, msg, e.msg, rc);
	mem_free(j);
	assert_int_equal(rc, code);
	assert_null(d);
	assert_string_equal(e.msg, msg);
}

/* The simulator's order flow (docs/simulator.md). */
static const char order_flow[] =
        "{'name':'order','entityKey':'order_id',"
        "'sourceDefaults':{'keyColumn':'order_id','stageColumn':'stage','timeColumn':'ts',"
        "'serviceColumn':'service','eventColumn':'event_type'},"
        "'sources':['order','customer','pricing','tax','promotions','checkout',"
        "{'table':'payment','stageColumn':'status','stageMap':{'AUTHORIZED':'payment',"
        "'FAILED':'payment','CAPTURED':'dispatched','VOIDED':'cancelled','REFUNDED':'returned'}},"
        "'fraud','notification','inventory','store','picking','packing','label','routing',"
        "'dispatch','driver_app','delivery_tracking','loyalty','returns'],"
        "'stages':[{'name':'placed','sla':'10m'},{'name':'checkout','sla':'30m'},"
        "{'name':'payment','sla':'30m','next':['fraud_check','cancelled']},"
        "{'name':'fraud_check','sla':'1h','next':['inventory','cancelled']},"
        "{'name':'inventory','sla':600,'next':['assigned','cancelled']},"
        "{'name':'assigned','sla':'5m'},{'name':'picking','sla':'2h'},{'name':'packing','sla':'30m'"
        "},"
        "{'name':'labeling','sla':'10m'},{'name':'routed','sla':'45m'},"
        "{'name':'dispatched','sla':'3h'},{'name':'in_transit','sla':'1h30m'},"
        "{'name':'out_for_delivery','sla':'2d','next':['delivered','returned']},"
        "{'name':'delivered','next':['returned']},{'name':'returned'},{'name':'cancelled'}],"
        "'successStages':['delivered'],'failureStages':['returned'],'cancelStages':['cancelled'],"
        "'dimensions':['market','store_id'],'gapGraceMs':60000,'clock':'wall'}";

static uint64_t
mask(const FlowDef *d, const char *names)
{
	uint64_t m = 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", names);
	for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
		int s = flowdef_stage(d, tok, strlen(tok));
		if (s < 0)
			fail_msg("no stage %s", tok);
		m |= 1ULL << s;
	}
	return m;
}

static int
st(const FlowDef *d, const char *name)
{
	int s = flowdef_stage(d, name, strlen(name));
	assert_true(s >= 0);
	return s;
}

static void
test_order_flow(void **state)
{
	(void)state;
	FlowDef *d = parse_ok(order_flow);
	assert_string_equal(d->name, "order");
	assert_string_equal(d->entity_key, "order_id");
	assert_int_equal(d->nsources, 20);
	assert_int_equal(d->nstages, 16);
	assert_int_equal(d->ndims, 2);
	assert_string_equal(d->dims[1], "store_id");
	assert_int_equal(d->gap_grace_ms, 60000);
	assert_int_equal(d->event_clock, 0);

	/* defaults applied to a bare table name */
	const FlowSource *s = &d->sources[0];
	assert_string_equal(s->table, "order");
	assert_string_equal(s->key_col, "order_id");
	assert_string_equal(s->stage_col, "stage");
	assert_null(s->stage_expr);
	assert_string_equal(s->time_col, "ts");
	assert_string_equal(s->service_col, "service");
	assert_string_equal(s->event_col, "event_type");
	assert_int_equal(s->nmap, 0);
	/* the payment source's own stage column and map */
	s = &d->sources[6];
	assert_string_equal(s->table, "payment");
	assert_string_equal(s->stage_col, "status");
	assert_string_equal(s->time_col, "ts");
	assert_int_equal(s->nmap, 5);
	assert_string_equal(s->map_from[0], "AUTHORIZED");
	assert_int_equal(s->map_to[0], st(d, "payment"));
	assert_string_equal(s->map_from[3], "VOIDED");
	assert_int_equal(s->map_to[3], st(d, "cancelled"));

	/* stages, SLAs, next */
	assert_int_equal(d->stages[0].sla_ms, 600000);
	assert_int_equal(d->stages[st(d, "inventory")].sla_ms, 600000);
	assert_int_equal(d->stages[st(d, "in_transit")].sla_ms, 5400000);
	assert_int_equal(d->stages[st(d, "out_for_delivery")].sla_ms, 2 * 86400000LL);
	assert_int_equal(d->stages[st(d, "delivered")].sla_ms, 0);
	assert_int_equal(d->stages[0].nnext, 1);
	assert_int_equal(d->stages[0].next[0], 1);
	const FlowStage *pay = &d->stages[st(d, "payment")];
	assert_int_equal(pay->nnext, 2);
	assert_int_equal(pay->next[0], st(d, "fraud_check"));
	assert_int_equal(pay->next[1], st(d, "cancelled"));
	assert_int_equal(d->stages[st(d, "delivered")].kind, FLOW_STAGE_SUCCESS);
	assert_int_equal(d->stages[st(d, "delivered")].nnext, 1);
	assert_int_equal(d->stages[st(d, "returned")].kind, FLOW_STAGE_FAILURE);
	assert_int_equal(d->stages[st(d, "returned")].nnext, 0); /* terminal: none */
	assert_int_equal(d->stages[st(d, "cancelled")].kind, FLOW_STAGE_CANCEL);
	assert_int_equal(d->stages[st(d, "cancelled")].nnext, 0);
	assert_int_equal(d->stages[st(d, "picking")].kind, FLOW_STAGE_NORMAL);
	assert_true(d->terminal == mask(d, "delivered returned cancelled"));

	/* dominators */
	assert_true(d->dom[0] == 0);
	assert_true(d->dom[st(d, "checkout")] == mask(d, "placed"));
	assert_true(d->dom[st(d, "packing")] ==
	            mask(d, "placed checkout payment fraud_check inventory assigned picking"));
	assert_false(d->dom[st(d, "packing")] & mask(d, "cancelled"));
	assert_true(d->dom[st(d, "cancelled")] == mask(d, "placed checkout payment"));
	assert_true(d->dom[st(d, "delivered")] ==
	            mask(d, "placed checkout payment fraud_check inventory assigned picking "
	                    "packing labeling routed dispatched in_transit out_for_delivery"));
	assert_true(d->dom[st(d, "returned")] == d->dom[st(d, "delivered")]);

	/* ancestors and descendants */
	assert_true(d->anc[0] == 0);
	assert_true(d->anc[st(d, "cancelled")] ==
	            mask(d, "placed checkout payment fraud_check inventory"));
	assert_true(d->anc[st(d, "returned")] ==
	            (d->dom[st(d, "delivered")] | mask(d, "delivered")));
	uint64_t all = (1ULL << 16) - 1;
	assert_true(d->desc[0] == (all & ~1ULL));
	assert_true(d->desc[st(d, "delivered")] == mask(d, "returned"));
	assert_true(d->desc[st(d, "returned")] == 0);
	assert_true(d->desc[st(d, "cancelled")] == 0);
	assert_true(d->desc[st(d, "out_for_delivery")] == mask(d, "delivered returned"));
	assert_true(d->desc[st(d, "inventory")] ==
	            (all & ~mask(d, "placed checkout payment fraud_check inventory")));
	for (int a = 0; a < d->nstages; a++)
		for (int b = 0; b < d->nstages; b++)
			assert_int_equal(!!(d->desc[a] & (1ULL << b)), !!(d->anc[b] & (1ULL << a)));

	assert_int_equal(flowdef_stage(d, "packingX", 7), st(d, "packing"));
	assert_int_equal(flowdef_stage(d, "pack", 4), -1);
	assert_int_equal(flowdef_stage(d, "nope", 4), -1);
	flowdef_free(d);
}

static void
test_graph_shapes(void **state)
{
	(void)state;
	/* a cycle b -> c -> b; x unreachable; d after the cycle */
	FlowDef *d =
	        parse_ok("{'name':'g','entityKey':'k','sources':[{'table':'t','stageExpr':'x'}],"
	                 "'stages':['a','b',{'name':'c','next':['b','d']},"
	                 "{'name':'d','next':[]},{'name':'x','next':['d']}]}");
	assert_true(d->desc[st(d, "b")] == mask(d, "b c d"));
	assert_true(d->anc[st(d, "b")] == mask(d, "a b c"));
	assert_true(d->anc[st(d, "a")] == 0);
	assert_true(d->desc[st(d, "c")] == mask(d, "b c d"));
	assert_true(d->dom[st(d, "d")] == mask(d, "a b c"));
	assert_true(d->dom[st(d, "c")] == mask(d, "a b"));
	assert_true(d->dom[st(d, "b")] == mask(d, "a"));
	assert_true(d->dom[st(d, "x")] == 0); /* unreachable */
	assert_true(d->anc[st(d, "x")] == 0);
	assert_true(d->anc[st(d, "d")] == mask(d, "a b c x"));
	assert_true(d->terminal == 0);
	assert_int_equal(d->stages[st(d, "d")].nnext, 0);
	assert_int_equal(d->stages[st(d, "b")].nnext, 1); /* default: c follows */
	assert_int_equal(d->stages[st(d, "b")].next[0], st(d, "c"));
	flowdef_free(d);

	/* a diamond: dom excludes the alternatives; a dead end; self loop */
	d = parse_ok("{'name':'g','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	             "'stages':[{'name':'a','next':['b','c']},{'name':'b','next':['d']},"
	             "{'name':'c','next':['c','d']},{'name':'d','next':[]},'e']}");
	assert_true(d->dom[st(d, "d")] == mask(d, "a"));
	assert_true(d->dom[st(d, "c")] == mask(d, "a"));
	assert_true(d->anc[st(d, "c")] == mask(d, "a c"));
	assert_true(d->desc[st(d, "c")] == mask(d, "c d"));
	assert_true(d->desc[st(d, "d")] == 0);
	assert_int_equal(d->stages[st(d, "d")].nnext, 0);
	assert_true(d->dom[st(d, "e")] == 0);
	flowdef_free(d);

	/* one stage; 64 stages in a chain */
	d = parse_ok("{'name':'g','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	             "'stages':['only']}");
	assert_int_equal(d->nstages, 1);
	assert_int_equal(d->stages[0].nnext, 0);
	assert_true(d->dom[0] == 0 && d->desc[0] == 0 && d->anc[0] == 0);
	flowdef_free(d);
	Buf b;
	buf_init(&b);
	buf_puts(&b, "{'name':'g','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	             "'stages':[");
	for (int i = 0; i < 64; i++)
		buf_printf(&b, "%s's%d'", i ? "," : "", i);
	buf_puts(&b, "],'successStages':['s63']}");
	d = parse_ok(b.p);
	assert_int_equal(d->nstages, 64);
	assert_true(d->dom[63] == ~0ULL >> 1);
	assert_true(d->desc[0] == ~1ULL);
	assert_true(d->anc[63] == ~0ULL >> 1);
	assert_true(d->terminal == 1ULL << 63);
	flowdef_free(d);
	buf_free(&b);
}

static void
test_sources(void **state)
{
	(void)state;
	/* keyColumn defaults to entityKey; no time column; a source's
	 * stageExpr overrides a default stageColumn; null overrides a
	 * default; sourceDefaults may carry a stageMap */
	FlowDef *d = parse_ok(
	        "{'name':'f','entityKey':'oid','sourceDefaults':{'stageColumn':'stage',"
	        "'serviceColumn':'svc','stageMap':{'A':'a'}},"
	        "'sources':['t1',{'table':'t2','stageExpr':'CASE WHEN x THEN 1 "
	        "END','serviceColumn':null},"
	        "{'table':'t3','keyColumn':'id','stageMap':{}},{'table':'t4','stageColumn':null}],"
	        "'stages':['a','b']}");
	assert_string_equal(d->sources[0].key_col, "oid");
	assert_null(d->sources[0].time_col);
	assert_null(d->sources[0].event_col);
	assert_string_equal(d->sources[0].service_col, "svc");
	assert_int_equal(d->sources[0].nmap, 1);
	assert_null(d->sources[1].stage_col);
	assert_string_equal(d->sources[1].stage_expr, "CASE WHEN x THEN 1 END");
	assert_null(d->sources[1].service_col);
	assert_int_equal(d->sources[1].nmap, 1);
	assert_string_equal(d->sources[2].key_col, "id");
	assert_int_equal(d->sources[2].nmap, 0);
	assert_string_equal(d->sources[3].stage_col, "stage"); /* null: the default */
	assert_int_equal(d->gap_grace_ms, 60000);
	assert_int_equal(d->event_clock, 0);
	flowdef_free(d);

	d = parse_ok("{'name':'f','entityKey':'k','sourceDefaults':{'stageExpr':'e'},"
	             "'sources':[{'table':'t','stageColumn':'c'}],'stages':['a'],"
	             "'gapGraceMs':0,'clock':'event','dimensions':[],'successStages':null}");
	assert_string_equal(d->sources[0].stage_col, "c");
	assert_null(d->sources[0].stage_expr);
	assert_int_equal(d->gap_grace_ms, 0);
	assert_int_equal(d->event_clock, 1);
	flowdef_free(d);

	/* expect_name */
	const char *j = "{\"name\":\"f\",\"entityKey\":\"k\",\"sources\":[{\"table\":\"t\","
	                "\"stageColumn\":\"s\"}],\"stages\":[\"a\"]}";
	Err e = {0};
	assert_int_equal(flowdef_parse(j, strlen(j), "f", &d, &e), 0);
	flowdef_free(d);
	assert_int_equal(flowdef_parse(j, strlen(j), "g", &d, &e), ERR_BAD_CONFIG);
	assert_null(d);
	assert_string_equal(e.msg, "name: \"f\" does not match \"g\" in the URL");
}

#define OK_HEAD   "{'name':'f','entityKey':'k',"
#define OK_SRC    "'sources':[{'table':'t','stageColumn':'s'}],"
#define OK_STAGES "'stages':['a','b','c']"

static void
test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		int code;
		const char *msg;
	} cases[] = {
	        /* top level */
	        {"", ERR_BAD_JSON, "malformed JSON at byte 0"},
	        {"{'a':}", ERR_BAD_JSON, "malformed JSON at byte 5"},
	        {"{} x", ERR_BAD_JSON, "malformed JSON at byte 3: data after the document"},
	        {"[]", ERR_BAD_CONFIG, "a flow definition must be a JSON object"},
	        {"null", ERR_BAD_CONFIG, "a flow definition must be a JSON object"},
	        {"'x'", ERR_BAD_CONFIG, "a flow definition must be a JSON object"},
	        {"{}", ERR_BAD_CONFIG, "name: is required"},
	        {OK_HEAD OK_SRC OK_STAGES ",'nmae':1}", ERR_BAD_CONFIG, "unknown key \"nmae\""},
	        {OK_HEAD OK_SRC OK_STAGES ",'name':'g'}", ERR_BAD_CONFIG,
	         "key \"name\" is given twice"},
	        {"{'name':5}", ERR_BAD_CONFIG, "name: expected a string"},
	        {"{'name':null}", ERR_BAD_CONFIG, "name: is required"},
	        {"{'name':''}", ERR_BAD_CONFIG, "name: must not be empty"},
	        {"{'name':'1x'}", ERR_BAD_CONFIG,
	         "name: \"1x\" is not a name ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes)"},
	        {"{'name':'a-b'}", ERR_BAD_CONFIG,
	         "name: \"a-b\" is not a name ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes)"},
	        {"{'name':'a1234567890123456789012345678901234567890123456789012345678901234'}",
	         ERR_BAD_CONFIG,
	         "name: \"a1234567890123456789012345678901234567890123456789012345678901234\" "
	         "is not a name ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes)"},
	        {"{'name':'f'," OK_SRC OK_STAGES "}", ERR_BAD_CONFIG, "entityKey: is required"},
	        {"{'name':'f','entityKey':[]}", ERR_BAD_CONFIG, "entityKey: expected a string"},
	        {"{'name':'f','entityKey':'order id'}", ERR_BAD_CONFIG,
	         "entityKey: \"order id\" is not a name ([A-Za-z_][A-Za-z0-9_]*, at most 64 "
	         "bytes)"},
	        /* stages */
	        {OK_HEAD OK_SRC "'x':1}", ERR_BAD_CONFIG, "unknown key \"x\""},
	        {OK_HEAD OK_SRC "'clock':'wall'}", ERR_BAD_CONFIG, "stages: is required"},
	        {OK_HEAD OK_SRC "'stages':{}}", ERR_BAD_CONFIG, "stages: expected an array"},
	        {OK_HEAD OK_SRC "'stages':[]}", ERR_BAD_CONFIG,
	         "stages: expected 1 to 64 stages, got 0"},
	        {OK_HEAD OK_SRC "'stages':['a',5]}", ERR_BAD_CONFIG,
	         "stages[1]: expected an object or a stage name"},
	        {OK_HEAD OK_SRC "'stages':['a',null]}", ERR_BAD_CONFIG,
	         "stages[1]: expected an object or a stage name"},
	        {OK_HEAD OK_SRC "'stages':['a',{}]}", ERR_BAD_CONFIG,
	         "stages[1].name: is required"},
	        {OK_HEAD OK_SRC "'stages':['a',{'name':7}]}", ERR_BAD_CONFIG,
	         "stages[1].name: expected a string"},
	        {OK_HEAD OK_SRC "'stages':['a',{'name':'b','nxet':[]}]}", ERR_BAD_CONFIG,
	         "stages[1]: unknown key \"nxet\""},
	        {OK_HEAD OK_SRC "'stages':['a',{'name':'b','sla':'1h','sla':'2h'}]}",
	         ERR_BAD_CONFIG, "stages[1]: key \"sla\" is given twice"},
	        {OK_HEAD OK_SRC "'stages':['a','b','a']}", ERR_BAD_CONFIG,
	         "stages[2]: stage \"a\" is already stages[0]"},
	        {OK_HEAD OK_SRC "'stages':['a','b','A']}", ERR_BAD_CONFIG,
	         "stages[2]: stage \"A\" is already stages[0] (names are compared ignoring case: "
	         "they become column names)"},
	        {OK_HEAD OK_SRC "'stages':['a',{'name':'t-b'}]}", ERR_BAD_CONFIG,
	         "stages[1].name: \"t-b\" is not a stage name ([A-Za-z_][A-Za-z0-9_]*, at most 64 "
	         "bytes)"},
	        {OK_HEAD OK_SRC "'stages':['']}", ERR_BAD_CONFIG,
	         "stages[0]: \"\" is not a stage name ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes)"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':'10x'}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: \"10x\" is not a duration (e.g. \"250ms\", \"45s\", \"30m\", "
	         "\"6h\", "
	         "\"2d\", \"1h30m\")"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':'0s'}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: must be more than 0 and less than 10 years"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':0}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: must be more than 0 and less than 10 years"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':-5}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: must be more than 0 and less than 10 years"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':0.0001}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: must be at least 1ms"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':'3650d'}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: must be more than 0 and less than 10 years"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':315360000}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: must be more than 0 and less than 10 years"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':1e300}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: must be more than 0 and less than 10 years"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','sla':true}]}", ERR_BAD_CONFIG,
	         "stages[0].sla: expected a duration (\"30m\", \"1h30m\") or seconds"},
	        {OK_HEAD OK_SRC
	         "'stages':['placed','picking',{'name':'x'},{'name':'y','next':['pakcing']}]}",
	         ERR_BAD_CONFIG, "stages[3].next[0]: no stage \"pakcing\""},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','next':'b'},'b']}", ERR_BAD_CONFIG,
	         "stages[0].next: expected an array of stage names"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','next':['b',3]},'b']}", ERR_BAD_CONFIG,
	         "stages[0].next[1]: expected a stage name"},
	        {OK_HEAD OK_SRC "'stages':[{'name':'a','next':['b','b']},'b']}", ERR_BAD_CONFIG,
	         "stages[0].next[1]: \"b\" is listed twice"},
	        /* terminal lists */
	        {OK_HEAD OK_SRC OK_STAGES ",'successStages':'c'}", ERR_BAD_CONFIG,
	         "successStages: expected an array of stage names"},
	        {OK_HEAD OK_SRC OK_STAGES ",'successStages':['d']}", ERR_BAD_CONFIG,
	         "successStages[0]: no stage \"d\""},
	        {OK_HEAD OK_SRC OK_STAGES ",'failureStages':[null]}", ERR_BAD_CONFIG,
	         "failureStages[0]: expected a stage name"},
	        {OK_HEAD OK_SRC OK_STAGES ",'successStages':['c'],'cancelStages':['b','c']}",
	         ERR_BAD_CONFIG, "cancelStages[1]: \"c\" is already in successStages"},
	        {OK_HEAD OK_SRC OK_STAGES ",'failureStages':['c','c']}", ERR_BAD_CONFIG,
	         "failureStages[1]: \"c\" is listed twice"},
	        /* sources */
	        {OK_HEAD OK_STAGES "}", ERR_BAD_CONFIG, "sources: is required"},
	        {OK_HEAD "'sources':'t'," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources: expected an array"},
	        {OK_HEAD "'sources':[]," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources: expected 1 to 128 sources, got 0"},
	        {OK_HEAD "'sources':[5]," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources[0]: expected a table name or an object"},
	        {OK_HEAD "'sources':[null]," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources[0]: expected a table name or an object"},
	        {OK_HEAD "'sources':['']," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources[0]: must not be empty"},
	        {OK_HEAD "'sources':['t']," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources[0]: stageColumn or stageExpr is required"},
	        {OK_HEAD "'sources':[{'stageColumn':'s'}]," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources[0].table: is required"},
	        {OK_HEAD "'sources':[{'table':1,'stageColumn':'s'}]," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources[0].table: expected a string"},
	        {OK_HEAD "'sources':[{'table':'t','stageColumn':'s','tabel':'x'}]," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sources[0]: unknown key \"tabel\""},
	        {OK_HEAD
	         "'sourceDefaults':{'stageColumn':'s'},'sources':['t','u',{'table':'t'}]," OK_STAGES
	         "}",
	         ERR_BAD_CONFIG, "sources[2]: table \"t\" is already sources[0]"},
	        {OK_HEAD
	         "'sources':['x',{'table':'t','stageColumn':'s','stageExpr':'e'}]," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sources[0]: stageColumn or stageExpr is required"},
	        {OK_HEAD "'sources':[{'table':'u','stageExpr':'e'},{'table':'v','stageExpr':'e'},"
	                 "{'table':'t','stageColumn':'s','stageExpr':'e'}]," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sources[2]: stageColumn and stageExpr are both set"},
	        {OK_HEAD "'sources':[{'table':'t','stageColumn':5}]," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources[0].stageColumn: expected a string"},
	        {OK_HEAD "'sources':[{'table':'t','stageExpr':''}]," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sources[0].stageExpr: must not be empty"},
	        {OK_HEAD "'sources':[{'table':'t','stageColumn':'s','timeColumn':{}}]," OK_STAGES
	                 "}",
	         ERR_BAD_CONFIG, "sources[0].timeColumn: expected a string"},
	        {OK_HEAD "'sources':[{'table':'t','stageColumn':'s','stageMap':[]}]," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sources[0].stageMap: expected an object of value -> stage name"},
	        {OK_HEAD
	         "'sources':[{'table':'t','stageColumn':'s','stageMap':{'OK':'z'}}]," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sources[0].stageMap.OK: no stage \"z\""},
	        {OK_HEAD
	         "'sources':[{'table':'t','stageColumn':'s','stageMap':{'OK':1}}]," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sources[0].stageMap.OK: expected a stage name"},
	        {OK_HEAD "'sources':[{'table':'t','stageColumn':'s','stageMap':{'X':'a','Y':'b','X'"
	                 ":'c'}}]," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sources[0].stageMap: value \"X\" is given twice"},
	        {OK_HEAD "'sourceDefaults':[],'sources':['t']," OK_STAGES "}", ERR_BAD_CONFIG,
	         "sourceDefaults: expected an object"},
	        {OK_HEAD "'sourceDefaults':{'table':'t'},'sources':['t']," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sourceDefaults: unknown key \"table\""},
	        {OK_HEAD
	         "'sourceDefaults':{'stageColumn':'s','stageExpr':'e'},'sources':['t']," OK_STAGES
	         "}",
	         ERR_BAD_CONFIG, "sourceDefaults: stageColumn and stageExpr are both set"},
	        {OK_HEAD
	         "'sourceDefaults':{'stageColumn':'s','keyColumn':''},'sources':['t']," OK_STAGES
	         "}",
	         ERR_BAD_CONFIG, "sourceDefaults.keyColumn: must not be empty"},
	        {OK_HEAD "'sourceDefaults':{'stageColumn':'s','stageMap':{'A':'q'}},'sources':['t']"
	                 "," OK_STAGES "}",
	         ERR_BAD_CONFIG, "sourceDefaults.stageMap.A: no stage \"q\""},
	        /* dimensions, gapGraceMs, clock */
	        {OK_HEAD OK_SRC OK_STAGES ",'dimensions':'market'}", ERR_BAD_CONFIG,
	         "dimensions: expected an array of column names"},
	        {OK_HEAD OK_SRC OK_STAGES ",'dimensions':['a','b','c','d','e','f','g','h','i']}",
	         ERR_BAD_CONFIG, "dimensions: at most 8, got 9"},
	        {OK_HEAD OK_SRC OK_STAGES ",'dimensions':['market','market']}", ERR_BAD_CONFIG,
	         "dimensions[1]: \"market\" is listed twice"},
	        {OK_HEAD OK_SRC OK_STAGES ",'dimensions':['market',1]}", ERR_BAD_CONFIG,
	         "dimensions[1]: expected a string"},
	        {OK_HEAD OK_SRC OK_STAGES ",'dimensions':['']}", ERR_BAD_CONFIG,
	         "dimensions[0]: must not be empty"},
	        {OK_HEAD OK_SRC OK_STAGES ",'gapGraceMs':-1}", ERR_BAD_CONFIG,
	         "gapGraceMs: expected a whole number of milliseconds, at least 0 and less than 10 "
	         "years"},
	        {OK_HEAD OK_SRC OK_STAGES ",'gapGraceMs':1.5}", ERR_BAD_CONFIG,
	         "gapGraceMs: expected a whole number of milliseconds, at least 0 and less than 10 "
	         "years"},
	        {OK_HEAD OK_SRC OK_STAGES ",'gapGraceMs':'60s'}", ERR_BAD_CONFIG,
	         "gapGraceMs: expected a whole number of milliseconds, at least 0 and less than 10 "
	         "years"},
	        {OK_HEAD OK_SRC OK_STAGES ",'gapGraceMs':1e300}", ERR_BAD_CONFIG,
	         "gapGraceMs: expected a whole number of milliseconds, at least 0 and less than 10 "
	         "years"},
	        {OK_HEAD OK_SRC OK_STAGES ",'clock':'Wall'}", ERR_BAD_CONFIG,
	         "clock: must be \"wall\" or \"event\""},
	        {OK_HEAD OK_SRC OK_STAGES ",'clock':1}", ERR_BAD_CONFIG,
	         "clock: must be \"wall\" or \"event\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_err(cases[i].json, cases[i].code, cases[i].msg);

	/* long strings are cut in messages */
	Buf b;
	buf_init(&b);
	buf_puts(&b, OK_HEAD OK_SRC OK_STAGES ",'");
	for (int i = 0; i < 5000; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "':1}");
	char *j = q(b.p);
	FlowDef *d = NULL;
	Err e = {0};
	assert_int_equal(flowdef_parse(j, strlen(j), NULL, &d, &e), ERR_BAD_CONFIG);
	assert_int_equal(strlen(e.msg), strlen("unknown key \"\"") + 80);
	mem_free(j);

	/* too many stages, sources; a huge array */
	buf_reset(&b);
	buf_puts(&b, OK_HEAD OK_SRC "'stages':[");
	for (int i = 0; i < 65; i++)
		buf_printf(&b, "%s's%d'", i ? "," : "", i);
	buf_puts(&b, "]}");
	expect_err(b.p, ERR_BAD_CONFIG, "stages: expected 1 to 64 stages, got 65");
	buf_reset(&b);
	buf_puts(&b, OK_HEAD "'sourceDefaults':{'stageColumn':'s'},'sources':[");
	for (int i = 0; i < 129; i++)
		buf_printf(&b, "%s't%d'", i ? "," : "", i);
	buf_puts(&b, "]," OK_STAGES "}");
	expect_err(b.p, ERR_BAD_CONFIG, "sources: expected 1 to 128 sources, got 129");
	buf_reset(&b);
	buf_puts(&b, OK_HEAD OK_SRC "'stages':[");
	for (int i = 0; i < 200000; i++)
		buf_puts(&b, i ? ",1" : "1");
	buf_puts(&b, "]}");
	expect_err(b.p, ERR_BAD_CONFIG, "stages: expected 1 to 64 stages, got 200000");
	buf_reset(&b);
	buf_puts(&b, OK_HEAD OK_SRC "'stages':[{'name':'a','next':[");
	for (int i = 0; i < 100; i++)
		buf_puts(&b, i ? ",'a'" : "'a'");
	buf_puts(&b, "]}]}");
	expect_err(b.p, ERR_BAD_CONFIG, "stages[0].next: more than 64 stages");
	/* deep nesting */
	buf_reset(&b);
	buf_puts(&b, OK_HEAD OK_SRC OK_STAGES ",'dimensions':");
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, ']');
	buf_putc(&b, '}');
	j = q(b.p);
	err_clear(&e);
	assert_int_equal(flowdef_parse(j, strlen(j), NULL, &d, &e), ERR_BAD_JSON);
	mem_free(j);
	buf_free(&b);
}

/* Every top-level key, and every key of a source and a stage, given
 * values of every JSON type: an error or a definition, never a crash. */
static void
test_wrong_types(void **state)
{
	(void)state;
	static const char *const values[] = {
	        "null",
	        "true",
	        "false",
	        "0",
	        "-1",
	        "1.5",
	        "1e400",
	        "''",
	        "'a'",
	        "'placed'",
	        "[]",
	        "{}",
	        "[null]",
	        "[1]",
	        "['a']",
	        "['placed','nope']",
	        "{'a':1}",
	        "{'placed':'placed'}",
	        "[[['x']]]",
	        "[{}]",
	        "[{'name':'z'}]",
	        "{'x':{'y':{'z':[]}}}",
	        "'\\u0000'",
	};
	static const char *const tpl[] = {
	        /* %s replaced by each value */
	        "{'name':%s,'entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],'stages':['"
	        "a']}",
	        "{'name':'f','entityKey':%s,'sources':[{'table':'t','stageColumn':'s'}],'stages':['"
	        "a']}",
	        "{'name':'f','entityKey':'k','sources':%s,'stages':['a']}",
	        "{'name':'f','entityKey':'k','sources':[%s],'stages':['a']}",
	        "{'name':'f','entityKey':'k','sources':[%s,'t'],'stages':['a'],"
	        "'sourceDefaults':{'stageColumn':'s'}}",
	        "{'name':'f','entityKey':'k','sourceDefaults':%s,'sources':['t'],'stages':['a']}",
	        "{'name':'f','entityKey':'k','sourceDefaults':{'stageColumn':%s},'sources':['t'],"
	        "'stages':['a']}",
	        "{'name':'f','entityKey':'k','sourceDefaults':{'stageMap':%s,'stageExpr':'x'},"
	        "'sources':['t'],'stages':['a']}",
	        "{'name':'f','entityKey':'k','sources':[{'table':%s,'stageColumn':'s'}],'stages':['"
	        "a']}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':%s}],'stages':['"
	        "a']}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageExpr':%s}],'stages':['a'"
	        "]}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s','stageMap':%"
	        "s}],"
	        "'stages':['placed']}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s','keyColumn':"
	        "%s,"
	        "'timeColumn':%s,'serviceColumn':%s,'eventColumn':%s}],'stages':['a']}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],'stages':%"
	        "s}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],'stages':["
	        "%s]}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	        "'stages':[{'name':%s}]}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	        "'stages':[{'name':'placed','sla':%s}]}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	        "'stages':[{'name':'placed','next':%s}]}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	        "'stages':['placed'],'successStages':%s,'failureStages':%s,'cancelStages':%s}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	        "'stages':['placed'],'dimensions':%s}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	        "'stages':['placed'],'gapGraceMs':%s}",
	        "{'name':'f','entityKey':'k','sources':[{'table':'t','stageColumn':'s'}],"
	        "'stages':['placed'],'clock':%s}",
	};
	int ok = 0, errs = 0;
	for (size_t t = 0; t < sizeof(tpl) / sizeof(tpl[0]); t++)
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			Buf b;
			buf_init(&b);
			for (const char *p = tpl[t]; *p; p++) {
				if (p[0] == '%' && p[1] == 's') {
					buf_puts(&b, values[v]);
					p++;
				} else {
					buf_putc(&b, *p);
				}
			}
			char *j = q(b.p);
			FlowDef *d = NULL;
			Err e = {0};
			int rc = flowdef_parse(j, strlen(j), NULL, &d, &e);
			if (rc == 0) {
				ok++;
				assert_non_null(d);
				Buf out;
				buf_init(&out);
				flowdef_to_json(d, &out);
				FlowDef *d2 = NULL;
				assert_int_equal(flowdef_parse(out.p, out.len, NULL, &d2, &e), 0);
				flowdef_free(d2);
				buf_free(&out);
				flowdef_free(d);
			} else {
				errs++;
				assert_true(rc == ERR_BAD_CONFIG || rc == ERR_BAD_JSON);
				assert_null(d);
				assert_true(e.msg[0] != '\0');
			}
			mem_free(j);
			buf_free(&b);
		}
	assert_true(ok > 10);
	assert_true(errs > 100);
}

/* Two definitions are equal field by field. */
static void
assert_same(const FlowDef *a, const FlowDef *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->entity_key, b->entity_key);
	assert_int_equal(a->nsources, b->nsources);
	for (int i = 0; i < a->nsources; i++) {
		const FlowSource *x = &a->sources[i], *y = &b->sources[i];
		assert_string_equal(x->table, y->table);
		assert_string_equal(x->key_col, y->key_col);
#define SAME_OPT(f)                                                                                \
	do {                                                                                       \
		assert_int_equal(x->f == NULL, y->f == NULL);                                      \
		if (x->f)                                                                          \
			assert_string_equal(x->f, y->f);                                           \
	} while (0)
		SAME_OPT(stage_col);
		SAME_OPT(stage_expr);
		SAME_OPT(time_col);
		SAME_OPT(service_col);
		SAME_OPT(event_col);
#undef SAME_OPT
		assert_int_equal(x->nmap, y->nmap);
		for (int k = 0; k < x->nmap; k++) {
			assert_string_equal(x->map_from[k], y->map_from[k]);
			assert_int_equal(x->map_to[k], y->map_to[k]);
		}
	}
	assert_int_equal(a->nstages, b->nstages);
	for (int i = 0; i < a->nstages; i++) {
		const FlowStage *x = &a->stages[i], *y = &b->stages[i];
		assert_string_equal(x->name, y->name);
		assert_int_equal(x->sla_ms, y->sla_ms);
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->nnext, y->nnext);
		for (int k = 0; k < x->nnext; k++)
			assert_int_equal(x->next[k], y->next[k]);
		assert_true(a->dom[i] == b->dom[i]);
		assert_true(a->anc[i] == b->anc[i]);
		assert_true(a->desc[i] == b->desc[i]);
	}
	assert_true(a->terminal == b->terminal);
	assert_int_equal(a->ndims, b->ndims);
	for (int i = 0; i < a->ndims; i++)
		assert_string_equal(a->dims[i], b->dims[i]);
	assert_int_equal(a->gap_grace_ms, b->gap_grace_ms);
	assert_int_equal(a->event_clock, b->event_clock);
}

static void
round_trip(const char *json)
{
	FlowDef *d = parse_ok(json);
	Buf b1, b2;
	buf_init(&b1);
	buf_init(&b2);
	flowdef_to_json(d, &b1);
	assert_false(b1.oom);
	FlowDef *d2 = NULL;
	Err e = {0};
	if (flowdef_parse(b1.p, b1.len, d->name, &d2, &e) != 0)
		fail_msg("canonical JSON does not parse: %s\n%s", e.msg, b1.p);
	assert_same(d, d2);
	flowdef_to_json(d2, &b2);
	assert_string_equal(b1.p, b2.p);
	flowdef_free(d);
	flowdef_free(d2);
	buf_free(&b1);
	buf_free(&b2);
}

static void
test_round_trip(void **state)
{
	(void)state;
	round_trip(order_flow);
	round_trip(
	        "{'name':'g','entityKey':'k','sources':[{'table':'t','stageExpr':'x \\' \\\" y'}],"
	        "'stages':['a','b',{'name':'c','next':['b','d'],'sla':0.25},'d',"
	        "{'name':'x','next':[],'sla':90061.001}],'clock':'event','gapGraceMs':0}");
	round_trip("{'name':'f','entityKey':'oid','sourceDefaults':{'stageColumn':'stage',"
	           "'serviceColumn':'svc','stageMap':{'A':'a','\\u00e9\\n':'b'}},"
	           "'sources':['t1',{'table':'t2','stageExpr':'e','serviceColumn':null}],"
	           "'stages':['a','b'],'dimensions':['m']}");

	/* the canonical form, exactly */
	FlowDef *d = parse_ok("{'name':'f','entityKey':'k','sourceDefaults':{'stageColumn':'s',"
	                      "'timeColumn':'ts'},'sources':['t',{'table':'u','stageExpr':'e',"
	                      "'stageMap':{'X':'b'}}],'stages':[{'name':'a','sla':5400},"
	                      "{'name':'b','sla':'250ms'},'c'],'cancelStages':['c']}");
	Buf b;
	buf_init(&b);
	flowdef_to_json(d, &b);
	char *want = q(
	        "{'name':'f','entityKey':'k','sources':["
	        "{'table':'t','keyColumn':'k','stageColumn':'s','stageExpr':null,'stageMap':{},"
	        "'timeColumn':'ts','serviceColumn':null,'eventColumn':null},"
	        "{'table':'u','keyColumn':'k','stageColumn':null,'stageExpr':'e',"
	        "'stageMap':{'X':'b'},'timeColumn':'ts','serviceColumn':null,'eventColumn':null}],"
	        "'stages':[{'name':'a','sla':'1h30m','next':['b']},"
	        "{'name':'b','sla':'250ms','next':['c']},{'name':'c','sla':null,'next':[]}],"
	        "'successStages':[],'failureStages':[],'cancelStages':['c'],'dimensions':[],"
	        "'gapGraceMs':60000,'clock':'wall'}");
	assert_string_equal(b.p, want);
	mem_free(want);
	buf_free(&b);
	flowdef_free(d);
}

static void
test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t ms;
	} good[] = {
	        {"250ms", 250},
	        {"45s", 45000},
	        {"30m", 1800000},
	        {"6h", 21600000},
	        {"2d", 172800000},
	        {"1h30m", 5400000},
	        {"1d2h3m4s5ms", 93784005},
	        {"0s", 0},
	        {"90m", 5400000},
	        {"1s500ms", 1500},
	        {"999999999999999ms", 999999999999999LL},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t ms = -1;
		assert_int_equal(flowdef_duration(good[i].s, &ms), 0);
		assert_int_equal(ms, good[i].ms);
	}
	static const char *const badv[] = {
	        "",
	        "h",
	        "1",
	        "1x",
	        "30m1h",
	        "1h1h",
	        "1.5h",
	        " 1h",
	        "1h ",
	        "-1h",
	        "1H",
	        "1M",
	        "ms",
	        "1ms1s",
	        "1hm",
	        "9999999999999999d",
	        "999999999999999d",
	        "1h30",
	        "1 h",
	};
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		int64_t ms = 7;
		if (flowdef_duration(badv[i], &ms) == 0)
			fail_msg("accepted \"%s\"", badv[i]);
	}
	int64_t ms;
	assert_int_equal(flowdef_duration(NULL, &ms), -1);

	static const struct {
		int64_t ms;
		const char *s;
	} fmt[] = {
	        {5400000, "1h30m"},
	        {250, "250ms"},
	        {0, "0ms"},
	        {86400000, "1d"},
	        {93784005, "1d2h3m4s5ms"},
	        {1500, "1s500ms"},
	        {3649LL * 86400000, "3649d"},
	};
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		Buf b;
		buf_init(&b);
		flowdef_format_duration(fmt[i].ms, &b);
		assert_string_equal(b.p, fmt[i].s);
		if (fmt[i].ms > 0) {
			assert_int_equal(flowdef_duration(b.p, &ms), 0);
			assert_int_equal(ms, fmt[i].ms);
		}
		buf_free(&b);
	}
	/* every SLA in range formats and parses back */
	for (int64_t v = 1; v < 3650LL * 86400000; v = v * 7 + 3) {
		Buf b;
		buf_init(&b);
		flowdef_format_duration(v, &b);
		assert_int_equal(flowdef_duration(b.p, &ms), 0);
		assert_int_equal(ms, v);
		buf_free(&b);
	}
}

/* Truncations and byte mutations of a valid definition: an error or a
 * definition that round-trips; never a crash or a leak. */
static void
test_mutations(void **state)
{
	(void)state;
	char *base = q(order_flow);
	size_t n = strlen(base);
	FlowDef *d;
	Err e;
	for (size_t cut = 0; cut < n; cut++) {
		d = NULL;
		err_clear(&e);
		int rc = flowdef_parse(base, cut, NULL, &d, &e);
		assert_true(rc == ERR_BAD_JSON || rc == ERR_BAD_CONFIG);
		assert_null(d);
	}
	static const char bytes[] = "\"{}[],:0 -x\\n";
	unsigned seed = 12345;
	char *m = mem_alloc(n + 1);
	int ok = 0;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(m, base, n + 1);
		int k = 1 + (int)(rand_r(&seed) % 3);
		for (int i = 0; i < k; i++)
			m[rand_r(&seed) % n] = bytes[rand_r(&seed) % (sizeof(bytes) - 1)];
		d = NULL;
		err_clear(&e);
		int rc = flowdef_parse(m, n, NULL, &d, &e);
		if (rc == 0) {
			ok++;
			Buf b;
			buf_init(&b);
			flowdef_to_json(d, &b);
			FlowDef *d2 = NULL;
			assert_int_equal(flowdef_parse(b.p, b.len, NULL, &d2, &e), 0);
			assert_same(d, d2);
			flowdef_free(d2);
			buf_free(&b);
			flowdef_free(d);
		} else {
			assert_true(rc == ERR_BAD_JSON || rc == ERR_BAD_CONFIG);
			assert_null(d);
		}
	}
	assert_true(ok > 0);
	mem_free(m);
	mem_free(base);
}

static void
test_alloc_failure(void **state)
{
	(void)state;
	char *j = q(order_flow);
	int failed = 0;
	for (long nth = 1; nth < 100000; nth++) {
		FlowDef *d = NULL;
		Err e = {0};
		mem_fail_nth(nth);
		int rc = flowdef_parse(j, strlen(j), NULL, &d, &e);
		mem_fail_nth(0);
		if (rc == 0) {
			flowdef_free(d);
			break;
		}
		assert_int_equal(rc, ERR_NOMEM);
		assert_null(d);
		failed++;
	}
	assert_true(failed > 50);
	mem_free(j);
}

/* ---- flowdef_check against a catalog ---- */

static const char schema_ev[] =
        "{'schemaName':'ev','dimensionFieldSpecs':[{'name':'order_id','dataType':'STRING'},"
        "{'name':'stage','dataType':'STRING'},{'name':'status','dataType':'STRING'},"
        "{'name':'service','dataType':'STRING'},{'name':'event_type','dataType':'STRING'},"
        "{'name':'market','dataType':'STRING'},{'name':'attempt','dataType':'INT'},"
        "{'name':'tags','dataType':'STRING','singleValueField':false}],"
        "'metricFieldSpecs':[{'name':'amount','dataType':'DOUBLE'}],"
        "'dateTimeFieldSpecs':[{'name':'ts','dataType':'LONG','format':'1:MILLISECONDS:EPOCH',"
        "'granularity':'1:MILLISECONDS'}]}";
static const char schema_ev2[] =
        "{'schemaName':'ev2','dimensionFieldSpecs':[{'name':'order_id','dataType':'STRING'},"
        "{'name':'stage','dataType':'STRING'},{'name':'store_id','dataType':'STRING'},"
        "{'name':'ts','dataType':'LONG'},{'name':'oid','dataType':'LONG'}],"
        "'dateTimeFieldSpecs':[{'name':'tsec','dataType':'LONG','format':'1:SECONDS:EPOCH',"
        "'granularity':'1:SECONDS'},{'name':'tstamp','dataType':'TIMESTAMP',"
        "'format':'1:MILLISECONDS:TIMESTAMP','granularity':'1:MILLISECONDS'}]}";

static void
put(Catalog *c, const char *json, int schema)
{
	char *j = q(json);
	Err e = {0};
	int rc = schema ? catalog_put_schema(c, j, strlen(j), 0, NULL, &e)
	                : catalog_put_table(c, j, strlen(j), 0, NULL, NULL, &e);
	if (rc != 0)
		fail_msg("%s: %s", j, e.msg);
	mem_free(j);
}

static void
check_err(Catalog *c, const char *json, int code, const char *msg)
{
	FlowDef *d = parse_ok(json);
	Err e = {0};
	int rc = flowdef_check(d, c, &e);
	if (rc != code || (msg && strcmp(e.msg, msg) != 0))
		print_error("want %d %s\ngot  %d %s\n", code, msg ? msg : "", rc, e.msg);
	assert_int_equal(rc, code);
	if (msg)
		assert_string_equal(e.msg, msg);
	flowdef_free(d);
}

#define FLOW(SRC) "{'name':'f','entityKey':'order_id','sources':" SRC ",'stages':['a','b']"

static void
test_check(void **state)
{
	(void)state;
	char dir[] = "/tmp/wbflowdef-XXXXXX";
	assert_non_null(mkdtemp(dir));
	Catalog *c;
	Err e = {0};
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	put(c, schema_ev, 1);
	put(c, schema_ev2, 1);
	put(c,
	    "{'tableName':'orders','tableType':'REALTIME','segmentsConfig':{'schemaName':'ev',"
	    "'timeColumnName':'ts'}}",
	    0);
	put(c,
	    "{'tableName':'payment','tableType':'REALTIME','segmentsConfig':{'schemaName':'ev',"
	    "'timeColumnName':'ts'}}",
	    0);
	put(c, "{'tableName':'ship','tableType':'REALTIME','segmentsConfig':{'schemaName':'ev2'}}",
	    0);
	put(c,
	    "{'tableName':'ship_s','tableType':'REALTIME','segmentsConfig':{'schemaName':'ev2',"
	    "'timeColumnName':'tsec'}}",
	    0);

	/* the order flow's shape over real tables */
	check_err(c,
	          "{'name':'order','entityKey':'order_id','sourceDefaults':{'stageColumn':"
	          "'stage','serviceColumn':'service','eventColumn':'event_type'},"
	          "'sources':['orders',{'table':'payment','stageColumn':'status','timeColumn':'ts',"
	          "'stageMap':{'AUTHORIZED':'payment'}},{'table':'ship','timeColumn':'ts',"
	          "'serviceColumn':null,'eventColumn':null}],"
	          "'stages':['placed','payment','shipped'],'dimensions':['market','store_id']}",
	          0, NULL);
	/* INT stage and event columns; TIMESTAMP time column */
	check_err(c,
	          FLOW("[{'table':'orders','stageColumn':'attempt','eventColumn':'attempt'},"
	               "{'table':'ship','stageColumn':'stage','timeColumn':'tstamp'}]") "}",
	          0, NULL);
	/* stageExpr is not compiled here */
	check_err(c, FLOW("[{'table':'orders','stageExpr':'no such column'}]") "}", 0, NULL);

	check_err(c,
	          FLOW("[{'table':'orders','stageColumn':'stage'},{'table':'nope',"
	               "'stageColumn':'stage'}]") "}",
	          ERR_NOT_FOUND, "sources[1]: no table \"nope\"");
	check_err(c,
	          FLOW("[{'table':'orders','stageColumn':'stage'},{'table':'orders_REALTIME',"
	               "'stageColumn':'stage'}]") "}",
	          ERR_BAD_CONFIG, "sources[1]: table \"orders_REALTIME\" is already sources[0]");
	check_err(c, FLOW("[{'table':'orders','stageColumn':'stage','keyColumn':'oid'}]") "}",
	          ERR_BAD_CONFIG, "sources[0].keyColumn: table \"orders\" has no column \"oid\"");
	check_err(
	        c,
	        FLOW("[{'table':'ship','stageColumn':'stage','keyColumn':'oid',"
	             "'timeColumn':'ts'}]") "}",
	        ERR_BAD_CONFIG,
	        "sources[0].keyColumn: column \"oid\" of table \"ship\" is LONG, expected STRING");
	check_err(c, FLOW("[{'table':'orders','stageColumn':'amount'}]") "}", ERR_BAD_CONFIG,
	          "sources[0].stageColumn: column \"amount\" of table \"orders\" is DOUBLE, "
	          "expected STRING, INT or LONG");
	check_err(c, FLOW("[{'table':'orders','stageColumn':'stag'}]") "}", ERR_BAD_CONFIG,
	          "sources[0].stageColumn: table \"orders\" has no column \"stag\"");
	check_err(c, FLOW("[{'table':'orders','stageColumn':'stage','serviceColumn':'tags'}]") "}",
	          ERR_BAD_CONFIG,
	          "sources[0].serviceColumn: column \"tags\" of table \"orders\" is multi-value "
	          "STRING, expected STRING");
	check_err(c,
	          FLOW("[{'table':'orders','stageColumn':'stage','serviceColumn':'attempt'}]") "}",
	          ERR_BAD_CONFIG,
	          "sources[0].serviceColumn: column \"attempt\" of table \"orders\" is INT, "
	          "expected STRING");
	check_err(c, FLOW("[{'table':'orders','stageColumn':'stage','eventColumn':'amount'}]") "}",
	          ERR_BAD_CONFIG,
	          "sources[0].eventColumn: column \"amount\" of table \"orders\" is DOUBLE, "
	          "expected STRING, INT or LONG");
	check_err(c, FLOW("[{'table':'orders','stageColumn':'stage','timeColumn':'market'}]") "}",
	          ERR_BAD_CONFIG,
	          "sources[0].timeColumn: column \"market\" of table \"orders\" is STRING, "
	          "expected INT, LONG or TIMESTAMP");
	check_err(c, FLOW("[{'table':'ship','stageColumn':'stage'}]") "}", ERR_BAD_CONFIG,
	          "sources[0].timeColumn: not set, and table \"ship\" has no time column "
	          "(segmentsConfig.timeColumnName)");
	check_err(c, FLOW("[{'table':'ship_s','stageColumn':'stage'}]") "}", ERR_BAD_CONFIG,
	          "sources[0].timeColumn (the table's segmentsConfig.timeColumnName): column "
	          "\"tsec\" of table \"ship_s\" has format \"1:SECONDS:EPOCH\", expected epoch "
	          "milliseconds");
	check_err(c, FLOW("[{'table':'ship','stageColumn':'stage','timeColumn':'tsec'}]") "}",
	          ERR_BAD_CONFIG,
	          "sources[0].timeColumn: column \"tsec\" of table \"ship\" has format "
	          "\"1:SECONDS:EPOCH\", expected epoch milliseconds");
	check_err(c,
	          FLOW("['orders']") ",'sourceDefaults':{'stageColumn':'stage'},"
	                             "'dimensions':['market','store_id']}",
	          ERR_BAD_CONFIG, "dimensions[1]: no source table has a column \"store_id\"");

	catalog_close(c);
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order_flow),    cmocka_unit_test(test_graph_shapes),
	        cmocka_unit_test(test_sources),       cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_wrong_types),   cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_durations),     cmocka_unit_test(test_mutations),
	        cmocka_unit_test(test_alloc_failure), cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
