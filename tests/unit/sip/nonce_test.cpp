// Stateless nonces (valid / stale / forged / truncated / future / other realm / other key) and
// the nonce-count replay table (replay, expiry, capacity eviction).
#include "sip/nonce.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "sip/nonce_count.h"

namespace hapbx::sip {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

NonceKey test_key(uint8_t seed) {
  NonceKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed + i * 13);
  return k;
}

const WallTime kT0 = WallTime{} + seconds(1'700'000'000);

TEST(NonceKeys, RandomKeysDifferAndHexRoundTrips) {
  auto a = make_nonce_key();
  auto b = make_nonce_key();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  std::string hex = nonce_key_to_hex(*a);
  EXPECT_EQ(hex.size(), 64u);
  auto back = nonce_key_from_hex(hex + "\n");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, *a);
  EXPECT_FALSE(nonce_key_from_hex(hex.substr(1)).ok());
  EXPECT_FALSE(nonce_key_from_hex(hex.substr(1) + "z").ok());
  EXPECT_FALSE(nonce_key_from_hex("").ok());
}

TEST(NonceCodec, ValidThenStale) {
  NonceCodec codec(test_key(1));
  auto nonce = codec.issue("asterisk", kT0);
  ASSERT_TRUE(nonce.ok());
  EXPECT_EQ(nonce->size(), 43u);
  for (char c : *nonce) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');

  auto check = codec.check(*nonce, "asterisk", kT0);
  EXPECT_EQ(check.state, NonceState::Valid);
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(check.issued - kT0).count(), 0);
  EXPECT_EQ(codec.check(*nonce, "asterisk", kT0 + seconds(30)).state, NonceState::Valid);
  EXPECT_EQ(codec.check(*nonce, "asterisk", kT0 + seconds(30) + milliseconds(1)).state,
            NonceState::Stale);
  EXPECT_EQ(codec.check(*nonce, "asterisk", kT0 + std::chrono::hours(24 * 365)).state,
            NonceState::Stale);
}

TEST(NonceCodec, ConfigurableLifetime) {
  NonceCodec codec(test_key(1), seconds(300));
  std::string nonce = codec.issue_with("asterisk", kT0, 42);
  EXPECT_EQ(codec.check(nonce, "asterisk", kT0 + seconds(299)).state, NonceState::Valid);
  EXPECT_EQ(codec.check(nonce, "asterisk", kT0 + seconds(301)).state, NonceState::Stale);
}

TEST(NonceCodec, NoncesAreUnique) {
  NonceCodec codec(test_key(1));
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(*codec.issue("asterisk", kT0));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(NonceCodec, SharedKeyValidatesOnAnotherInstance) {
  // The standby after a failover, or pbxd after a restart, holds the same key.
  NonceCodec a(test_key(5));
  NonceCodec b(test_key(5));
  EXPECT_EQ(b.check(*a.issue("asterisk", kT0), "asterisk", kT0 + seconds(1)).state,
            NonceState::Valid);
}

TEST(NonceCodec, ForgedTruncatedAndOtherKeyOrRealm) {
  NonceCodec codec(test_key(1));
  std::string nonce = codec.issue_with("asterisk", kT0, 7);

  // Every single-character change is caught (MAC, or non-canonical encoding).
  for (size_t i = 0; i < nonce.size(); ++i) {
    std::string forged = nonce;
    forged[i] = forged[i] == 'A' ? 'B' : 'A';
    auto check = codec.check(forged, "asterisk", kT0);
    EXPECT_EQ(check.state, NonceState::Invalid) << "position " << i;
  }
  EXPECT_EQ(codec.check(nonce.substr(0, 42), "asterisk", kT0).state, NonceState::Invalid);
  EXPECT_EQ(codec.check(nonce + "A", "asterisk", kT0).state, NonceState::Invalid);
  EXPECT_EQ(codec.check("", "asterisk", kT0).state, NonceState::Invalid);
  EXPECT_EQ(codec.check(std::string(43, '!'), "asterisk", kT0).state, NonceState::Invalid);
  EXPECT_EQ(codec.check(std::string(43, '\0'), "asterisk", kT0).state, NonceState::Invalid);
  EXPECT_EQ(codec.check(nonce, "other", kT0).state, NonceState::Invalid);
  EXPECT_EQ(NonceCodec(test_key(2)).check(nonce, "asterisk", kT0).state, NonceState::Invalid);
  EXPECT_EQ(codec.check(nonce, "asterisk", kT0).reason, "valid");
}

TEST(NonceCodec, FromTheFuture) {
  NonceCodec codec(test_key(1));
  std::string nonce = codec.issue_with("asterisk", kT0 + seconds(60), 1);
  auto check = codec.check(nonce, "asterisk", kT0);
  EXPECT_EQ(check.state, NonceState::Invalid);
  EXPECT_EQ(check.reason, "from the future");
  // Small clock differences between the two nodes are tolerated.
  std::string near = codec.issue_with("asterisk", kT0 + seconds(4), 1);
  EXPECT_EQ(codec.check(near, "asterisk", kT0).state, NonceState::Valid);
}

TEST(NonceCodec, ExtremeTimesDoNotOverflow) {
  NonceCodec codec(test_key(1));
  std::string early = codec.issue_with("r", WallTime{} - seconds(10), 1);  // clamped to epoch
  EXPECT_NE(codec.check(early, "r", WallTime::max()).state, NonceState::Valid);
  EXPECT_NE(codec.check(early, "r", WallTime::min()).state, NonceState::Valid);
  std::string normal = codec.issue_with("r", kT0, 1);
  EXPECT_EQ(codec.check(normal, "r", WallTime::min()).state, NonceState::Invalid);
  EXPECT_EQ(codec.check(normal, "r", WallTime::max()).state, NonceState::Stale);
}

// ---- nonce counts ----------------------------------------------------------------------

TEST(NonceCount, HigherAcceptedEqualOrLowerIsReplay) {
  NonceCountTracker t;
  EXPECT_EQ(t.accept("n1", kT0, 1, kT0), NonceCountVerdict::Accepted);
  EXPECT_EQ(t.accept("n1", kT0, 1, kT0), NonceCountVerdict::Replay);
  EXPECT_EQ(t.accept("n1", kT0, 3, kT0), NonceCountVerdict::Accepted);  // gaps are fine
  EXPECT_EQ(t.accept("n1", kT0, 2, kT0), NonceCountVerdict::Replay);
  EXPECT_EQ(t.accept("n1", kT0, 0, kT0), NonceCountVerdict::Zero);
  EXPECT_EQ(t.accept("n2", kT0, 1, kT0), NonceCountVerdict::Accepted);  // per nonce
  EXPECT_EQ(t.replays(), 2u);
  EXPECT_EQ(t.size(), 2u);
}

TEST(NonceCount, EntriesExpireWithTheNonceLifetime) {
  NonceCountTracker t(seconds(30), 100);
  EXPECT_EQ(t.accept("old", kT0, 1, kT0), NonceCountVerdict::Accepted);
  EXPECT_EQ(t.accept("new", kT0 + seconds(20), 1, kT0 + seconds(20)), NonceCountVerdict::Accepted);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.accept("new", kT0 + seconds(20), 2, kT0 + seconds(31)), NonceCountVerdict::Accepted);
  EXPECT_EQ(t.size(), 1u);  // "old" is gone: its nonce is stale anyway
  EXPECT_EQ(t.evictions(), 0u);
}

TEST(NonceCount, CapEvictsOldestAndEvictedNoncesAnswerEvicted) {
  NonceCountTracker t(seconds(30), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.accept("n" + std::to_string(i), kT0 + milliseconds(i), 1, kT0 + seconds(1)),
              NonceCountVerdict::Accepted);
  }
  EXPECT_EQ(t.accept("n3", kT0 + milliseconds(3), 1, kT0 + seconds(1)), NonceCountVerdict::Accepted);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.evictions(), 1u);
  // n0 was evicted: its next request cannot be told from a replay.
  EXPECT_EQ(t.accept("n0", kT0, 2, kT0 + seconds(1)), NonceCountVerdict::Evicted);
  // An unseen nonce as old as the evicted one is also refused...
  EXPECT_EQ(t.accept("x", kT0, 1, kT0 + seconds(1)), NonceCountVerdict::Evicted);
  // ...the ones still held work...
  EXPECT_EQ(t.accept("n1", kT0 + milliseconds(1), 2, kT0 + seconds(1)), NonceCountVerdict::Accepted);
  // ...and newer nonces are fine (evicting the next oldest).
  EXPECT_EQ(t.accept("n4", kT0 + milliseconds(4), 1, kT0 + seconds(1)), NonceCountVerdict::Accepted);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.accept("n1", kT0 + milliseconds(1), 3, kT0 + seconds(1)), NonceCountVerdict::Evicted);
}

TEST(NonceCount, BoundedUnderFlood) {
  NonceCountTracker t(seconds(30), 64);
  for (int i = 0; i < 10'000; ++i) {
    (void)t.accept("n" + std::to_string(i), kT0 + milliseconds(i), 1, kT0 + milliseconds(i));
    ASSERT_LE(t.size(), 64u);
  }
  EXPECT_GT(t.evictions(), 0u);
}

}  // namespace
}  // namespace hapbx::sip
