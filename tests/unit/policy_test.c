/* policy matching: prefix rules on component boundaries, globs, first match wins,
 * unmatched passes, redirect/library/hide/deny decisions. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "policy.h"

static struct policy p;
static struct pol_decision d;
static char buf[4096];

static enum pol_action decide(const char *path) { return policy_decide(&p, path, &d, buf, sizeof buf); }

static void setup(void)
{
	p = (struct policy){ 0 };
	cr_assert_eq(policy_add(&p, POL_CACHE, "/work/data/", NULL, 0, "a"), 0);
	cr_assert_eq(policy_add(&p, POL_PASS, "/tmp", NULL, 0, "b"), 0);
	cr_assert_eq(policy_add(&p, POL_CACHE, "/usr/lib", NULL, 0, "c"), 0);
	cr_assert_eq(policy_add(&p, POL_PASS, "/usr", NULL, 0, "d"), 0);
}
static void teardown(void) { policy_free(&p); }

TestSuite(policy, .init = setup, .fini = teardown);

Test(policy, prefix_covers_itself_and_descendants)
{
	cr_assert_eq(decide("/usr/lib"), POL_CACHE);
	cr_assert_eq(decide("/usr/lib/x86_64-linux-gnu/libc.so.6"), POL_CACHE);
}

Test(policy, prefix_does_not_cover_sibling_with_same_start)
{
	cr_assert_eq(decide("/usr/lib64/ld.so"), POL_PASS);
	cr_assert_str_eq(d.rule->origin, "d");   /* fell through to /usr, not /usr/lib */
}

Test(policy, first_match_wins)
{
	cr_assert_eq(decide("/usr/lib/python3"), POL_CACHE);
	cr_assert_str_eq(d.rule->origin, "c");
	cr_assert_eq(decide("/usr/share/x"), POL_PASS);
	cr_assert_str_eq(d.rule->origin, "d");
}

Test(policy, trailing_slash_of_rule_is_ignored)
{
	cr_assert_eq(decide("/work/data"), POL_CACHE);
	cr_assert_eq(decide("/work/data/f"), POL_CACHE);
	cr_assert_eq(decide("/work/database"), POL_PASS);
}

Test(policy, unmatched_path_passes_with_no_rule)
{
	cr_assert_eq(decide("/home/u/x"), POL_PASS);
	cr_assert_null(d.rule);
}

Test(policy, relative_or_missing_pattern_is_rejected)
{
	cr_assert_eq(policy_add(&p, POL_CACHE, "usr/lib", NULL, 0, "x"), -EINVAL);
	cr_assert_eq(policy_add(&p, POL_CACHE, NULL, NULL, 0, "x"), -EINVAL);
	cr_assert_eq(policy_add(&p, POL_REDIRECT, "/a/*", "/b", 0, "x"), -EINVAL);
	cr_assert_eq(policy_add(&p, POL_LIBRARY, "lib/x.so", "/b", 0, "x"), -EINVAL);
	cr_assert_eq(policy_add(&p, POL_LIBRARY, "libx.so", "rel", 0, "x"), -EINVAL);
}

Test(policy, root_rule_covers_everything)
{
	struct policy q = { 0 };
	cr_assert_eq(policy_add(&q, POL_CACHE, "/", NULL, 0, "root"), 0);
	cr_assert_eq(policy_decide(&q, "/anything/at/all", &d, buf, sizeof buf), POL_CACHE);
	policy_free(&q);
}

Test(policy, star_matches_within_one_component_and_covers_below)
{
	policy_add(&p, POL_DENY, "/opt/bad/*.so", NULL, EACCES, "g");
	cr_assert_eq(decide("/opt/bad/x.so"), POL_DENY);
	cr_assert_eq(d.err, EACCES);
	cr_assert_eq(decide("/opt/bad/x.so/inner"), POL_DENY);
	cr_assert_eq(decide("/opt/bad/sub/x.so"), POL_PASS, "* never crosses '/'");
	cr_assert_eq(decide("/opt/bad/.hidden.so"), POL_PASS, "* does not match a leading dot");
}

Test(policy, double_star_crosses_components)
{
	policy_add(&p, POL_CACHE, "/sw/**/lib", NULL, 0, "g");
	cr_assert_eq(decide("/sw/lib/libm.so"), POL_CACHE, "** matches zero components");
	cr_assert_eq(decide("/sw/a/b/c/lib"), POL_CACHE);
	cr_assert_eq(decide("/sw/a/b/c/lib64"), POL_PASS);
	cr_assert_eq(decide("/sw/a/include"), POL_PASS);
}

Test(policy, redirect_maps_prefix_and_keeps_the_rest)
{
	policy_add(&p, POL_REDIRECT, "/old/tree", "/new/place", 0, "r");
	cr_assert_eq(decide("/old/tree/pkg/mod.py"), POL_REDIRECT);
	cr_assert_str_eq(d.target, "/new/place/pkg/mod.py");
	cr_assert_eq(decide("/old/tree"), POL_REDIRECT);
	cr_assert_str_eq(d.target, "/new/place");
	cr_assert_eq(decide("/old/treehouse"), POL_PASS);
}

Test(policy, library_and_hide_match_the_last_component_anywhere)
{
	policy_free(&p);   /* name rules must come first: the /usr/lib rule would win */
	policy_add(&p, POL_LIBRARY, "libfoo.so.1", "/opt/foo2/libfoo.so.1", 0, "l");
	policy_add(&p, POL_HIDE, "libbar.so.2", NULL, 0, "h");
	policy_add(&p, POL_CACHE, "/usr/lib", NULL, 0, "c");
	cr_assert_eq(decide("/usr/lib/x86_64-linux-gnu/libfoo.so.1"), POL_LIBRARY);
	cr_assert_str_eq(d.target, "/opt/foo2/libfoo.so.1");
	cr_assert_eq(decide("/anywhere/libbar.so.2"), POL_HIDE);
	cr_assert_eq(d.err, ENOENT);
	cr_assert_eq(decide("/usr/lib/libfoo.so.12"), POL_CACHE);
}

Test(policy, rules_format_back_to_policy_text)
{
	char out[256];
	policy_add(&p, POL_DENY, "/opt/bad", NULL, EACCES, "x");
	policy_format_rule(&p.rules[p.n - 1], out, sizeof out);
	cr_assert_str_eq(out, "deny /opt/bad EACCES");
	policy_format_rule(&p.rules[0], out, sizeof out);
	cr_assert_str_eq(out, "cache /work/data");
}

Test(policy, action_names)
{
	cr_assert_str_eq(pol_action_name(POL_CACHE), "cache");
	cr_assert_str_eq(pol_action_name(POL_PASS), "pass");
	cr_assert_str_eq(pol_action_name(POL_REDIRECT), "redirect");
}
