/* path_join: how a caller's relative path becomes the string collrun looks up. It must
 * never normalise ("..", "."), because the kernel resolves those after symlinks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "resolve.h"

Test(path_join, relative_is_appended_with_one_slash)
{
	char out[64];
	cr_assert_eq(path_join("/usr/lib", "libc.so", out, sizeof out), 0);
	cr_assert_str_eq(out, "/usr/lib/libc.so");
}

Test(path_join, base_root_gets_no_double_slash)
{
	char out[64];
	cr_assert_eq(path_join("/", "etc", out, sizeof out), 0);
	cr_assert_str_eq(out, "/etc");
}

Test(path_join, absolute_rel_ignores_base)
{
	char out[64];
	cr_assert_eq(path_join("/home", "/usr/bin", out, sizeof out), 0);
	cr_assert_str_eq(out, "/usr/bin");
}

Test(path_join, dot_dot_and_dot_are_kept_verbatim)
{
	char out[64];
	cr_assert_eq(path_join("/a/link", "../b/./c", out, sizeof out), 0);
	cr_assert_str_eq(out, "/a/link/../b/./c");
}

Test(path_join, trailing_slash_is_kept_for_enotdir_semantics)
{
	char out[64];
	cr_assert_eq(path_join("/d", "file/", out, sizeof out), 0);
	cr_assert_str_eq(out, "/d/file/");
}

Test(path_join, too_long_is_enametoolong_not_truncated)
{
	char out[8];
	cr_assert_eq(path_join("/abc", "defg", out, sizeof out), -ENAMETOOLONG);
	cr_assert_eq(path_join("/abc", "de", out, sizeof out), 0);   /* exactly fits: 7 + NUL */
	cr_assert_str_eq(out, "/abc/de");
}
