// Tests of the authkeys parser and of load_authkeys()' owner/mode refusal (a temp file with
// chmod 644), as Heartbeat refuses a readable key file.
#include "cluster/authkeys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace hapbx::cluster {
namespace {

Result<AuthKeys> parse(const std::string& text) { return parse_authkeys(text, "authkeys"); }

std::string error_of(const std::string& text) {
  auto k = parse(text);
  EXPECT_FALSE(k.ok()) << "loaded: " << text;
  return k.ok() ? std::string("(loaded)") : k.error().message;
}

TEST(AuthKeys, TypicalFile) {
  auto k = parse("# authkeys\nauth 2\n1 md5 OldSecret\n2 sha1 PutYourSuperSecretKeyHere\n"
                 "3 sha256 Next#Secret   # a comment\n");
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->active.index, 2);
  EXPECT_EQ(k->active.method, AuthMethod::Sha1);
  EXPECT_EQ(k->active.secret, "PutYourSuperSecretKeyHere");
  EXPECT_EQ(k->active_line, 2);
  ASSERT_EQ(k->keys.size(), 3u);
  EXPECT_EQ(k->keys[0].method, AuthMethod::Md5);
  EXPECT_EQ(k->keys[2].secret, "Next#Secret");  // '#' inside a word is kept
  // Every listed key verifies (key rollover), the active one signs.
  ASSERT_NE(k->find(1), nullptr);
  EXPECT_EQ(k->find(1)->secret, "OldSecret");
  EXPECT_EQ(k->find(4), nullptr);
  EXPECT_TRUE(k->warnings.empty());
}

TEST(AuthKeys, CrcIsWarned) {
  auto k = parse("auth 1\n1 crc\n");
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->active.method, AuthMethod::Crc);
  EXPECT_TRUE(k->active.secret.empty());
  ASSERT_EQ(k->warnings.size(), 1u);
  EXPECT_EQ(k->warnings[0].line, 2);
  EXPECT_EQ(k->warnings[0].message.rfind("authkeys:2: crc is a checksum, not authentication", 0),
            0u);
}

TEST(AuthKeys, ErrorsNameTheLine) {
  EXPECT_EQ(error_of("auth 2\n1 sha1 s\n"), "authkeys:1: auth 2: no key 2 is defined in this file");
  EXPECT_EQ(error_of("auth 1\n1 sha1\n"), "authkeys:2: sha1 needs a secret: 1 sha1 <secret>");
  EXPECT_EQ(error_of("auth 1\n1 md5\n"), "authkeys:2: md5 needs a secret: 1 md5 <secret>");
  EXPECT_EQ(error_of("auth 1\n1 sha256\n"),
            "authkeys:2: sha256 needs a secret: 1 sha256 <secret>");
  EXPECT_EQ(error_of("auth 1\n1 rot13 s\n"),
            "authkeys:2: unknown method 'rot13' (expected sha1, sha256, md5 or crc)");
  EXPECT_EQ(error_of("auth 1\n1 sha1 a\n1 sha1 b\n"),
            "authkeys:3: key 1 defined again (first at line 2); key numbers must be unique");
  EXPECT_EQ(error_of("auth 1\nauth 1\n1 sha1 a\n"),
            "authkeys:2: a second 'auth' line (the first is at line 1); keep one");
  EXPECT_EQ(error_of("auth 16\n16 sha1 a\n"),
            "authkeys:1: 'auth' takes one key number, 1-15: auth 1\n"
            "authkeys:2: key number 16 is not valid (1-15)");
  EXPECT_EQ(error_of("auth 1\n1 sha1 my secret phrase\n"),
            "authkeys:2: the secret must be one word (no blanks); 2 more words after it");
  EXPECT_EQ(error_of("1 sha1 a\n"),
            "authkeys: no 'auth N' line: add 'auth 1' to say which key signs heartbeats");
  EXPECT_EQ(error_of("auth 1\n"),
            "authkeys: no key defined: add e.g. '1 sha1 <a long random secret>'");
  EXPECT_EQ(error_of("auth 1\nkey 1 sha1 a\n"),
            "authkeys:2: expected 'auth N' or 'N method secret' (e.g. '1 sha1 secret'), not 'key'");
  EXPECT_EQ(error_of("auth 1\n1\n"),
            "authkeys:2: key 1 has no method: write '1 sha1 secret' (methods: sha1, sha256, md5, "
            "crc)");
  EXPECT_NE(error_of("auth 1\n1 sha1 " + std::string(300, 's') + "\n").find("authkeys:2: the "
                                                                            "secret is longer"),
            std::string::npos);
  EXPECT_EQ(error_of(std::string("auth 1\n1 sha1 a\x01z\n")),
            "authkeys:2: control byte 0x01 in the text; this file must be plain text");
}

class AuthKeysFile : public ::testing::Test {
 protected:
  std::string write(const std::string& text, mode_t mode) {
    const std::string path = dir_.str() + "/authkeys";
    {
      std::ofstream f(path, std::ios::trunc);
      f << text;
    }
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  hapbx::testing::TempDir dir_{"authkeys"};
};

TEST_F(AuthKeysFile, Mode600Loads) {
  ASSERT_FALSE(dir_.path().empty());
  auto k = load_authkeys(write("auth 1\n1 sha1 secret\n", 0600));
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->active.secret, "secret");
  EXPECT_TRUE(load_authkeys(write("auth 1\n1 sha1 secret\n", 0400)).ok());
}

TEST_F(AuthKeysFile, Mode644IsRefused) {
  ASSERT_FALSE(dir_.path().empty());
  const std::string path = write("auth 1\n1 sha1 secret\n", 0644);
  auto k = load_authkeys(path);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().message,
            "authkeys: " + path + " must be mode 600 (is 644): chmod 600 " + path);
  auto g = load_authkeys(write("auth 1\n1 sha1 secret\n", 0640));
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("must be mode 600 (is 640)"), std::string::npos);
  auto o = load_authkeys(write("auth 1\n1 sha1 secret\n", 0604));
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.error().message.find("must be mode 600 (is 604)"), std::string::npos);
}

TEST_F(AuthKeysFile, ParseErrorsNameThePath) {
  ASSERT_FALSE(dir_.path().empty());
  const std::string path = write("auth 1\n1 sha1\n", 0600);
  auto k = load_authkeys(path);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().message, path + ":2: sha1 needs a secret: 1 sha1 <secret>");
}

TEST_F(AuthKeysFile, MissingAndNotRegular) {
  ASSERT_FALSE(dir_.path().empty());
  auto missing = load_authkeys(dir_.str() + "/none");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
  auto directory = load_authkeys(dir_.str());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find("is not a regular file"), std::string::npos);
}

TEST_F(AuthKeysFile, NotOwnedByUsIsRefused) {
  // Only root can make a file owned by someone else; as non-root, /etc/passwd serves (owned by
  // root, mode 644: the owner check comes first).
  if (::geteuid() == 0) {
    ASSERT_FALSE(dir_.path().empty());
    const std::string path = write("auth 1\n1 sha1 secret\n", 0600);
    ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
    auto k = load_authkeys(path);
    ASSERT_FALSE(k.ok());
    EXPECT_NE(k.error().message.find("is owned by uid 65534, not by the user running clusterd "
                                     "(uid 0): chown 0 "),
              std::string::npos)
        << k.error().message;
  } else {
    auto k = load_authkeys("/etc/passwd");
    ASSERT_FALSE(k.ok());
    EXPECT_NE(k.error().message.find("/etc/passwd is owned by uid 0, not by the user running "
                                     "clusterd"),
              std::string::npos)
        << k.error().message;
  }
}

TEST(AuthKeysExamples, ParseAsText) {
  // In git the examples cannot be mode 600 (the installer chmods them): parse the text.
  for (const char* dir : {"vip", "thesis"}) {
    std::ifstream f(std::string(HAPBX_TEST_DATA_DIR "/../examples/") + dir + "/authkeys");
    ASSERT_TRUE(f.good()) << dir;
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto k = parse_authkeys(text, std::string(dir) + "/authkeys");
    ASSERT_TRUE(k.ok()) << k.error().message;
    EXPECT_EQ(k->active.method, AuthMethod::Sha1) << dir;
    EXPECT_TRUE(k->warnings.empty()) << dir;
  }
}

}  // namespace
}  // namespace hapbx::cluster
