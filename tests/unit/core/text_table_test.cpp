// TextTable: widths from content, alignment, UTF-8 width, sanitizing and ragged rows.
#include "core/text_table.h"

#include <gtest/gtest.h>

namespace hapbx::core {
namespace {

using Align = TextTable::Align;

TEST(TextTable, WidthsComeFromTheWidestCell) {
  TextTable table({{"Name/username"}, {"Host"}, {"Port", Align::kRight}, {"Status"}});
  table.add_row({"201/201", "192.0.2.10", "5060", "OK (12 ms)"});
  table.add_row({"202", "(Unspecified)", "0", "UNKNOWN"});
  EXPECT_EQ(table.row_count(), 2u);
  EXPECT_EQ(table.render(),
            "Name/username Host          Port Status\n"
            "201/201       192.0.2.10    5060 OK (12 ms)\n"
            "202           (Unspecified)    0 UNKNOWN\n");
}

TEST(TextTable, HeaderOnlyAndCustomGap) {
  TextTable table({{"A"}, {"B", Align::kRight}}, " | ");
  EXPECT_EQ(table.render(), "A | B\n");
  table.add_row({"long", "x"});
  EXPECT_EQ(table.render(),
            "A    | B\n"
            "long | x\n");
}

TEST(TextTable, NoTrailingSpacesWhenLastCellsAreEmptyOrShort) {
  TextTable table({{"Name"}, {"Description"}});
  table.add_row({"x"});  // missing cell is empty
  table.add_row({"y", "z", "ignored extra cell"});
  EXPECT_EQ(table.render(),
            "Name Description\n"
            "x\n"
            "y    z\n");
}

TEST(TextTable, Utf8CellsCountCodePoints) {
  TextTable table({{"Name"}, {"X"}});
  table.add_row({"Jos\xC3\xA9", "1"});
  table.add_row({"Bo", "2"});
  EXPECT_EQ(table.render(),
            "Name X\n"
            "Jos\xC3\xA9 1\n"
            "Bo   2\n");
  EXPECT_EQ(display_width("Jos\xC3\xA9"), 4u);
  EXPECT_EQ(display_width(""), 0u);
}

TEST(TextTable, ControlBytesCannotBreakRows) {
  TextTable table({{"Name"}, {"Agent"}});
  table.add_row({"201", "evil\n\x1b[2Jagent"});
  EXPECT_EQ(table.render(),
            "Name Agent\n"
            "201  evil??[2Jagent\n");
}

}  // namespace
}  // namespace hapbx::core
