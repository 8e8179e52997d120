// BindingTable: keyed put/refresh/remove, limits, expiry timers and revert.
#include "pbx/bindings.h"

#include <gtest/gtest.h>

namespace hapbx::pbx {
namespace {

using std::chrono::seconds;

Binding make(std::string aor, std::string contact, core::TimePoint expires_at) {
  Binding b;
  b.aor = std::move(aor);
  b.contact = std::move(contact);
  b.expires_at = expires_at;
  b.source = sip::Endpoint{sip::TransportKind::Udp, "127.0.0.1", 5070, 0};
  b.call_id = "c1";
  b.cseq = 1;
  return b;
}

TEST(BindingTable, AddRefreshRemove) {
  core::ManualClock clock;
  BindingTable table;
  BindingChange change;
  EXPECT_EQ(table.put(make("201", "sip:201@a", clock.now() + seconds(60)), &change),
            BindingTable::PutOutcome::Added);
  EXPECT_FALSE(change.before.has_value());
  ASSERT_TRUE(change.after.has_value());
  EXPECT_EQ(table.size(), 1u);

  auto refreshed = make("201", "sip:201@a", clock.now() + seconds(120));
  refreshed.cseq = 2;
  EXPECT_EQ(table.put(refreshed, &change), BindingTable::PutOutcome::Updated);
  ASSERT_TRUE(change.before.has_value());
  EXPECT_EQ(change.before->cseq, 1u);
  EXPECT_EQ(change.after->cseq, 2u);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.next_expiry(), clock.now() + seconds(120));

  ASSERT_NE(table.find("201", "sip:201@a"), nullptr);
  auto removed = table.remove("201", "sip:201@a");
  ASSERT_TRUE(removed.has_value());
  EXPECT_TRUE(removed->is_removal());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.contacts("201").empty());
  EXPECT_FALSE(table.next_expiry().has_value());
  EXPECT_FALSE(table.remove("201", "sip:201@a").has_value());
}

TEST(BindingTable, LimitsPerAorAndTotal) {
  core::ManualClock clock;
  BindingTable table(BindingLimits{2, 3});
  const auto t = clock.now() + seconds(60);
  EXPECT_EQ(table.put(make("201", "sip:a", t)), BindingTable::PutOutcome::Added);
  EXPECT_EQ(table.put(make("201", "sip:b", t)), BindingTable::PutOutcome::Added);
  EXPECT_EQ(table.put(make("201", "sip:c", t)), BindingTable::PutOutcome::AorFull);
  // Refreshing an existing contact is always allowed at the limit.
  EXPECT_EQ(table.put(make("201", "sip:b", t + seconds(1))), BindingTable::PutOutcome::Updated);
  EXPECT_EQ(table.put(make("202", "sip:a", t)), BindingTable::PutOutcome::Added);
  EXPECT_EQ(table.put(make("203", "sip:a", t)), BindingTable::PutOutcome::TableFull);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.aors(), (std::vector<std::string>{"201", "202"}));
}

TEST(BindingTable, ExpireReturnsDueBindingsInOrder) {
  core::ManualClock clock;
  BindingTable table;
  const auto t0 = clock.now();
  ASSERT_EQ(table.put(make("201", "sip:a", t0 + seconds(30))), BindingTable::PutOutcome::Added);
  ASSERT_EQ(table.put(make("202", "sip:a", t0 + seconds(10))), BindingTable::PutOutcome::Added);
  ASSERT_EQ(table.put(make("201", "sip:b", t0 + seconds(20))), BindingTable::PutOutcome::Added);
  EXPECT_EQ(table.next_expiry(), t0 + seconds(10));

  EXPECT_TRUE(table.expire(t0 + seconds(9)).empty());
  auto gone = table.expire(t0 + seconds(20));
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0].binding().aor, "202");
  EXPECT_EQ(gone[1].binding().contact, "sip:b");
  EXPECT_TRUE(gone[1].is_removal());
  EXPECT_EQ(table.next_expiry(), t0 + seconds(30));
  EXPECT_EQ(table.size(), 1u);
}

TEST(BindingTable, RevertUndoesABatch) {
  core::ManualClock clock;
  BindingTable table;
  const auto t = clock.now() + seconds(60);
  ASSERT_EQ(table.put(make("201", "sip:a", t)), BindingTable::PutOutcome::Added);
  std::vector<BindingChange> batch(2);
  auto updated = make("201", "sip:a", t + seconds(100));
  updated.cseq = 9;
  ASSERT_EQ(table.put(updated, &batch[0]), BindingTable::PutOutcome::Updated);
  ASSERT_EQ(table.put(make("201", "sip:b", t), &batch[1]), BindingTable::PutOutcome::Added);
  auto removal = table.remove("201", "sip:a");
  ASSERT_TRUE(removal.has_value());
  batch.push_back(*removal);

  table.revert(batch);
  ASSERT_EQ(table.size(), 1u);
  const Binding* a = table.find("201", "sip:a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->cseq, 1u);
  EXPECT_EQ(a->expires_at, t);
  EXPECT_EQ(table.next_expiry(), t);
}

TEST(BindingTable, RemainingSecondsRoundsUpAndRebases) {
  core::ManualClock clock;
  auto b = make("201", "sip:a", clock.now() + std::chrono::milliseconds(400));
  EXPECT_EQ(remaining_seconds(b, clock.now()), 1u);
  EXPECT_EQ(remaining_seconds(b, clock.now() + seconds(1)), 0u);
  b.expires_wall = 1'000'100;
  rebase_expiry(b, clock.now(), 1'000'000);
  EXPECT_EQ(b.expires_at, clock.now() + seconds(100));
  rebase_expiry(b, clock.now(), 2'000'000);
  EXPECT_EQ(b.expires_at, clock.now());
}

}  // namespace
}  // namespace hapbx::pbx
