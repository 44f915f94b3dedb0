/* The strict JSON parser behind the safetensors header. */
#include <string.h>

#include "core/alloc.h"
#include "io/json.h"
#include "io_test.h"

static json_value parse_ok(const char *text)
{
    json_value v;
    TEST_OK(json_parse(text, strlen(text), "test", "j", &v));
    return v;
}

static void expect_bad(const char *text, const char *part)
{
    json_value v;
    TEST_FAILS(EMBCL_ERR_FORMAT, json_parse(text, strlen(text), "test", "j", &v), "test: j byte", part);
    json_free(&v);
}

Test(json, parses_values_and_keeps_order)
{
    json_value v = parse_ok(" {\"b\": [1, -2.5e3, 0, true, false, null], \"a\": {\"x\": \"y\"}, \"c\": []} ");
    cr_assert_eq(v.type, JSON_OBJECT);
    cr_assert_eq(v.n, 3);
    cr_assert_str_eq(v.members[0].key, "b");
    cr_assert_str_eq(v.members[1].key, "a");
    const json_value *b = json_get(&v, "b");
    cr_assert_eq(b->type, JSON_ARRAY);
    cr_assert_eq(b->n, 6);
    uint64_t u;
    cr_assert(json_as_u64(&b->items[0], &u) && u == 1);
    cr_assert_not(json_as_u64(&b->items[1], &u), "-2.5e3 is not a u64");
    cr_assert_eq(b->items[1].num_len, 6);
    cr_assert(json_as_u64(&b->items[2], &u) && u == 0);
    cr_assert_eq(b->items[3].type, JSON_BOOL);
    cr_assert(b->items[3].boolean && !b->items[4].boolean);
    cr_assert_eq(b->items[5].type, JSON_NULL);
    cr_assert_str_eq(json_get(json_get(&v, "a"), "x")->str, "y");
    cr_assert_null(json_get(&v, "zz"));
    json_free(&v);
}

Test(json, decodes_escapes_and_utf8)
{
    json_value v = parse_ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u2713\\ud83d\\ude00 \xc3\xa9\"");
    cr_assert_str_eq(v.str, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80 \xc3\xa9");
    json_free(&v);
    v = parse_ok("\"x\\u0000y\"");
    cr_assert_eq(v.str_len, 3, "an escaped NUL is kept, and the length says so");
    json_free(&v);
    v = parse_ok("18446744073709551615");
    uint64_t u;
    cr_assert(json_as_u64(&v, &u) && u == UINT64_MAX);
    json_free(&v);
    v = parse_ok("18446744073709551616");
    cr_assert_not(json_as_u64(&v, &u), "2^64 does not fit");
    json_free(&v);
}

Test(json, rejects_what_rfc8259_rejects)
{
    expect_bad("", "expected a value, found the end");
    expect_bad("{", "expected a string key");
    expect_bad("{\"a\" 1}", "expected ':'");
    expect_bad("{\"a\":1,}", "expected a string key");
    expect_bad("[1,]", "expected a value");
    expect_bad("[1 2]", "expected ',' or ']'");
    expect_bad("{\"a\":1 \"b\":2}", "expected ',' or '}'");
    expect_bad("01", "text after the JSON value");
    expect_bad("1.", "expected a digit after '.'");
    expect_bad("1e", "digit in the exponent");
    expect_bad("-", "expected a digit");
    expect_bad("+1", "expected a value");
    expect_bad("tru", "expected 'true'");
    expect_bad("nul", "expected 'null'");
    expect_bad("{'a':1}", "expected a string key");
    expect_bad("\"abc", "unterminated string");
    expect_bad("\"a\tb\"", "control character");
    expect_bad("\"\\x\"", "unknown escape");
    expect_bad("\"\\u12g4\"", "four hex digits");
    expect_bad("\"\\udc00\"", "lone low surrogate");
    expect_bad("\"\\ud800x\"", "high surrogate not followed");
    expect_bad("\"\xc0\xaf\"", "invalid UTF-8");          /* overlong '/' */
    expect_bad("\"\xed\xa0\x80\"", "invalid UTF-8");      /* encoded surrogate */
    expect_bad("\"\xf4\x90\x80\x80\"", "invalid UTF-8");  /* above U+10FFFF */
    expect_bad("\"\xe2\x9c\"", "invalid UTF-8");          /* cut short */
    expect_bad("{} {}", "text after the JSON value");
    char deep[200];
    memset(deep, '[', sizeof deep);
    deep[sizeof deep - 1] = '\0';
    expect_bad(deep, "nested deeper than 64 levels");
}

Test(json, writes_strings_it_can_read_back)
{
    const char *s = "q\"b\\s\x01 \xe2\x9c\x93\n";
    embcl_strbuf b = {0};
    TEST_OK(json_write_string(&b, s, strlen(s), "test", "value"));
    cr_assert_str_eq(b.data, "\"q\\\"b\\\\s\\u0001 \xe2\x9c\x93\\u000a\"");
    json_value v = parse_ok(b.data);
    cr_assert_str_eq(v.str, s);
    json_free(&v);
    embcl_strbuf_free(&b);
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, json_write_string(&b, "\xff", 1, "test", "value"), "value", "not valid UTF-8");
    embcl_strbuf_free(&b);
}

static embcl_status parse_json(const char *buf, size_t len)
{
    json_value v;
    embcl_status s = json_parse(buf, len, "fuzz", "j", &v);
    json_free(&v);
    return s;
}

Test(json, damaged_copies_never_crash)
{
    const char good[] = "{\"__metadata__\":{\"k\":\"v\\u00e9\\n\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                        "\"data_offsets\":[0,24]},\"x\":[true,false,null,-1.5e-3,{\"y\":[]}]}";
    int failed;
    io_test_mutate(good, sizeof good - 1, 5000, parse_json, &failed);
    cr_assert_gt(failed, 2500);
}
