/* The discovered-tree set: which directories it accepts, how it cleans them, and that a
 * path is covered by a discovered tree exactly when the tree is the path or an ancestor —
 * also through the policy's `discovered` marker, in the marker's place among the rules. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "discover.h"
#include "policy.h"

static struct discovered d;

static void setup(void) { cr_assert_eq(discovered_init(&d, "/home/u/"), 0); }

TestSuite(discover, .init = setup);

static bool covers(const char *path, const char **why)
{
	const struct pol_rule *r = NULL;
	bool hit = discovered_match(&d, path, &r);
	if (hit && why)
		*why = r->origin;
	return hit;
}

Test(discover, refuses_relative_root_top_level_home_and_above)
{
	cr_assert_eq(discovered_add(&d, "lib", "x"), 0);
	cr_assert_eq(discovered_add(&d, "/", "x"), 0);
	cr_assert_eq(discovered_add(&d, "//", "x"), 0);
	cr_assert_eq(discovered_add(&d, "/opt", "x"), 0);
	cr_assert_eq(discovered_add(&d, "/opt/", "x"), 0);
	cr_assert_eq(discovered_add(&d, "/home", "x"), 0);
	cr_assert_eq(discovered_add(&d, "/home/u", "x"), 0);
	cr_assert_eq(discovered_add(&d, "/home/u/.cache/pip", "x"), 0);
	cr_assert_eq(discovered_add(&d, "/home/u/.config", "x"), 0);
	cr_assert_eq(discovered_count(&d), 0);
	cr_assert(!covers("/opt/x", NULL));
}

Test(discover, accepts_software_trees_below_home_and_elsewhere)
{
	cr_assert_eq(discovered_add(&d, "/home/u/venv/lib", "a"), 1);
	cr_assert_eq(discovered_add(&d, "/home/user2/lib", "b"), 1);   /* not below /home/u */
	cr_assert_eq(discovered_add(&d, "/opt/spk/liba-1/lib", "c"), 1);
	cr_assert_eq(discovered_count(&d), 3);
}

Test(discover, cleans_slashes_and_dot_and_keeps_first_reason)
{
	cr_assert_eq(discovered_add(&d, "//opt/./spk//lib/", "first"), 1);
	cr_assert_eq(discovered_add(&d, "/opt/spk/lib", "second"), 0);
	cr_assert_str_eq(discovered_rule(&d, 0)->pattern, "/opt/spk/lib");
	const char *why = NULL;
	cr_assert(covers("/opt/spk/lib/liba.so", &why));
	cr_assert_str_eq(why, "first");
}

Test(discover, covers_the_tree_and_descendants_not_siblings_or_parents)
{
	cr_assert_eq(discovered_add(&d, "/opt/spk/lib", "x"), 1);
	cr_assert(covers("/opt/spk/lib", NULL));
	cr_assert(covers("/opt/spk/lib/glibc-hwcaps/x86-64-v3/liba.so", NULL));
	cr_assert(!covers("/opt/spk/lib64/liba.so", NULL));
	cr_assert(!covers("/opt/spk/li", NULL));
	cr_assert(!covers("/opt/spk", NULL));
	cr_assert(!covers("/opt/spk/", NULL));
}

Test(discover, nested_trees_answer_with_the_innermost)
{
	cr_assert_eq(discovered_add(&d, "/opt/spk/a/lib/sub", "inner"), 1);
	cr_assert_eq(discovered_add(&d, "/opt/spk/a", "outer"), 1);
	const char *why = NULL;
	cr_assert(covers("/opt/spk/a/lib/sub/x.so", &why));
	cr_assert_str_eq(why, "inner");
	cr_assert(covers("/opt/spk/a/bin/../lib/sub/x.so", &why));
	cr_assert_str_eq(why, "outer");
	cr_assert(covers("/opt/spk/a/lib/x.so", &why));
	cr_assert_str_eq(why, "outer");
}

Test(discover, holds_thousands_of_trees)
{
	char dir[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(dir, sizeof dir, "/sw/pkg-%d/lib", i);
		cr_assert_eq(discovered_add(&d, dir, "many"), 1);
	}
	cr_assert_eq(discovered_count(&d), 5000);
	for (int i = 0; i < 5000; i += 97) {
		snprintf(dir, sizeof dir, "/sw/pkg-%d/lib/libx.so", i);
		cr_assert(covers(dir, NULL), "%s", dir);
	}
	cr_assert(!covers("/sw/pkg-5000/lib/libx.so", NULL));
}

Test(discover, marker_decides_in_its_place_among_the_rules)
{
	struct policy p = { 0 };
	cr_assert_eq(policy_add(&p, POL_PASS, "/opt/spk/lib/out", NULL, 0, "explicit"), 0);
	cr_assert_eq(policy_add_marker(&p, POL_SRC_ALL, "marker"), 0);
	cr_assert_eq(policy_add(&p, POL_PASS, "/opt", NULL, 0, "after"), 0);
	p.discovered = discovered_match;
	p.discovered_ctx = &d;
	struct pol_decision dec;
	char buf[4096];
	cr_assert_eq(policy_decide(&p, "/opt/spk/lib/x.so", &dec, buf, sizeof buf), POL_PASS);
	cr_assert_eq(discovered_add(&d, "/opt/spk/lib", "RUNPATH of /opt/spk/bin/app"), 1);
	cr_assert_eq(policy_decide(&p, "/opt/spk/lib/x.so", &dec, buf, sizeof buf), POL_CACHE);
	cr_assert_eq(policy_decide(&p, "/opt/spk/lib/out/new", &dec, buf, sizeof buf), POL_PASS);
	cr_assert_eq(policy_decide(&p, "/opt/other", &dec, buf, sizeof buf), POL_PASS);
	policy_free(&p);
}
