// The PBX's layout on the replicated disk: made once, seeded once, refusals name the path.
#include "cluster/pbx_layout.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/temp_dir.h"

namespace hapbx::cluster {
namespace {
namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}
std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct PbxLayoutTest : ::testing::Test {
  testing::TempDir tmp{"pbx-layout"};
  PbxLayout layout;
  void SetUp() override {
    ASSERT_FALSE(tmp.path().empty());
    layout.root = (tmp.path() / "replica").string();
    layout.seed_dir = (tmp.path() / "seed").string();
    fs::create_directories(layout.root);
  }
};

TEST_F(PbxLayoutTest, FirstStartMakesTheLayoutAndSeedsTheConfiguration) {
  write(fs::path(layout.seed_dir) / "sip.conf", "[general]\n");
  write(fs::path(layout.seed_dir) / "extensions.conf", "[internal]\n");
  fs::create_directories(fs::path(layout.seed_dir) / "not-a-file");
  auto r = prepare_pbx_layout(layout);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->created.size(), 4u);
  EXPECT_EQ(r->seeded.size(), 2u);
  for (const std::string& d : {layout.config_dir(), layout.state_dir(), layout.spool_dir(), layout.log_dir()})
    EXPECT_TRUE(fs::is_directory(d)) << d;
  EXPECT_EQ(read(fs::path(layout.config_dir()) / "extensions.conf"), "[internal]\n");
  EXPECT_FALSE(fs::exists(fs::path(layout.config_dir()) / "not-a-file"));
}

TEST_F(PbxLayoutTest, TheDiskStaysTheTruthAfterTheFirstStart) {
  write(fs::path(layout.config_dir()) / "sip.conf", "on the disk\n");
  write(fs::path(layout.seed_dir) / "sip.conf", "the node's old copy\n");
  auto r = prepare_pbx_layout(layout);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->seeded.empty());
  EXPECT_EQ(r->created.size(), 3u);  // lib, spool, log
  EXPECT_EQ(read(fs::path(layout.config_dir()) / "sip.conf"), "on the disk\n");
  auto again = prepare_pbx_layout(layout);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->created.empty());
}

TEST_F(PbxLayoutTest, RefusalsNameThePath) {
  auto none = prepare_pbx_layout(layout);  // no configuration anywhere
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find(layout.seed_dir), std::string::npos) << none.error().message;

  write(fs::path(layout.root) / "lib", "a file where a directory belongs");
  write(fs::path(layout.seed_dir) / "sip.conf", "[general]\n");
  auto file = prepare_pbx_layout(layout);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find(layout.state_dir() + " exists but is not a directory"), std::string::npos)
      << file.error().message;

  layout.root = (tmp.path() / "not-mounted").string();
  auto unmounted = prepare_pbx_layout(layout);
  ASSERT_FALSE(unmounted.ok());
  EXPECT_NE(unmounted.error().message.find("is the replicated disk mounted"), std::string::npos);
}

}  // namespace
}  // namespace hapbx::cluster
