// parse_mount_info: the fields we use, escapes, and lines that do not have the documented shape.
#include "core/mount_info.h"

#include <gtest/gtest.h>

namespace hapbx::core {
namespace {

TEST(MountInfo, ParsesFieldsOptionalTagsAndEscapes) {
  const auto e = parse_mount_info(
      "36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext4 /dev/loop3 rw\n"
      "42 27 0:39 / /run/hapbx/fuse/r0 rw,nosuid - fuse.hapbx hapbx-r0 rw,user_id=0\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].mount_id, 36);
  EXPECT_EQ(e[0].major, 98u);
  EXPECT_EQ(e[0].minor, 0u);
  EXPECT_EQ(e[0].root, "/mnt1");
  EXPECT_EQ(e[0].mount_point, "/mnt two");
  EXPECT_EQ(e[0].fstype, "ext4");
  EXPECT_EQ(e[0].source, "/dev/loop3");
  EXPECT_EQ(e[1].fstype, "fuse.hapbx");
  EXPECT_EQ(e[1].mount_point, "/run/hapbx/fuse/r0");
}

TEST(MountInfo, SkipsMalformedLines) {
  const auto e = parse_mount_info(
      "garbage\n"
      "1 2 x:y / /a rw - ext4 src rw\n"            // bad device numbers
      "1 2 7:1 / /b rw no-dash-here ext4 src rw\n"  // no separator
      "1 2 7:1 / /c rw -\n"                         // nothing after the separator
      "\n"
      "5 1 7:2 / /ok rw - ext4 /dev/loop2 rw");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].mount_point, "/ok");
  EXPECT_EQ(e[0].minor, 2u);
}

}  // namespace
}  // namespace hapbx::core
