// Column formatting for the text answers of `show` commands, in the style of Asterisk's
// `sip show peers`: a header row, then one row per item, each column as wide as its widest cell
// (header included), columns separated by a gap. The caller prints its own summary line.
//
// Widths count UTF-8 code points, not bytes, so a caller ID with accents does not shift the
// columns. Control bytes in cells (which may come from the network) are shown as '?', so a cell
// can never move the cursor or break the row. Lines carry no trailing spaces.
#pragma once

#include <string>
#include <vector>

namespace hapbx::core {

class TextTable {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit TextTable(std::vector<Column> columns, std::string gap = " ");

  // Missing trailing cells are empty; cells beyond the number of columns are ignored.
  void add_row(std::vector<std::string> cells);
  std::size_t row_count() const { return rows_.size(); }

  // Header line and rows, each ending in '\n'.
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::string gap_;
  std::vector<std::vector<std::string>> rows_;
};

// Number of code points in UTF-8 text (a stray continuation or invalid byte counts as one).
std::size_t display_width(const std::string& text);

}  // namespace hapbx::core
