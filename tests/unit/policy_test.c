/* policy: prefix rules on component boundaries, first match wins, unmatched passes. */
#include <criterion/criterion.h>
#include <errno.h>
#include "policy.h"

static struct policy p;

static void setup(void)
{
	p = (struct policy){ 0 };
	cr_assert_eq(policy_add(&p, "/work/data/", POL_CACHE, "a"), 0);
	cr_assert_eq(policy_add(&p, "/tmp", POL_PASS, "b"), 0);
	cr_assert_eq(policy_add(&p, "/usr/lib", POL_CACHE, "c"), 0);
	cr_assert_eq(policy_add(&p, "/usr", POL_PASS, "d"), 0);
}
static void teardown(void) { policy_free(&p); }

TestSuite(policy, .init = setup, .fini = teardown);

Test(policy, prefix_covers_itself_and_descendants)
{
	cr_assert_eq(policy_decide(&p, "/usr/lib", NULL), POL_CACHE);
	cr_assert_eq(policy_decide(&p, "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL), POL_CACHE);
}

Test(policy, prefix_does_not_cover_sibling_with_same_start)
{
	const struct pol_rule *r;
	cr_assert_eq(policy_decide(&p, "/usr/lib64/ld.so", &r), POL_PASS);
	cr_assert_str_eq(r->origin, "d");   /* fell through to /usr, not /usr/lib */
}

Test(policy, first_match_wins)
{
	const struct pol_rule *r;
	cr_assert_eq(policy_decide(&p, "/usr/lib/python3", &r), POL_CACHE);
	cr_assert_str_eq(r->origin, "c");
	cr_assert_eq(policy_decide(&p, "/usr/share/x", &r), POL_PASS);
	cr_assert_str_eq(r->origin, "d");
}

Test(policy, trailing_slash_of_rule_is_ignored)
{
	cr_assert_eq(policy_decide(&p, "/work/data", NULL), POL_CACHE);
	cr_assert_eq(policy_decide(&p, "/work/data/f", NULL), POL_CACHE);
	cr_assert_eq(policy_decide(&p, "/work/database", NULL), POL_PASS);
}

Test(policy, unmatched_path_passes_with_no_rule)
{
	const struct pol_rule *r = (void *)1;
	cr_assert_eq(policy_decide(&p, "/home/u/x", &r), POL_PASS);
	cr_assert_null(r);
}

Test(policy, relative_prefix_is_rejected)
{
	cr_assert_eq(policy_add(&p, "usr/lib", POL_CACHE, "x"), -EINVAL);
	cr_assert_eq(policy_add(&p, NULL, POL_CACHE, "x"), -EINVAL);
}

Test(policy, root_rule_covers_everything)
{
	struct policy q = { 0 };
	cr_assert_eq(policy_add(&q, "/", POL_CACHE, "root"), 0);
	cr_assert_eq(policy_decide(&q, "/anything/at/all", NULL), POL_CACHE);
	policy_free(&q);
}

Test(policy, action_names)
{
	cr_assert_str_eq(pol_action_name(POL_CACHE), "cache");
	cr_assert_str_eq(pol_action_name(POL_PASS), "pass");
}
