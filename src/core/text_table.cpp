// Column width computation and padding for TextTable (see text_table.h).
#include "core/text_table.h"

#include <algorithm>
#include <utility>

namespace hapbx::core {
namespace {

std::string sanitize(std::string text) {
  for (char& ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) ch = '?';
  }
  return text;
}

void trim_trailing_spaces(std::string& line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
}

}  // namespace

std::size_t display_width(const std::string& text) {
  // Count every byte that does not continue a multi-byte sequence.
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char ch) {
    return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  }));
}

TextTable::TextTable(std::vector<Column> columns, std::string gap)
    : columns_(std::move(columns)), gap_(std::move(gap)) {
  for (Column& column : columns_) column.header = sanitize(std::move(column.header));
}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::string& cell : cells) cell = sanitize(std::move(cell));
  rows_.push_back(std::move(cells));
}

std::string TextTable::render() const {
  std::vector<std::size_t> widths(columns_.size());
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    widths[i] = display_width(columns_[i].header);
    for (const auto& row : rows_) widths[i] = std::max(widths[i], display_width(row[i]));
  }

  std::string out;
  const auto append_line = [&](auto&& cell_at) {
    std::string line;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (i > 0) line += gap_;
      const std::string& cell = cell_at(i);
      const std::string padding(widths[i] - display_width(cell), ' ');
      if (columns_[i].align == Align::kRight) {
        line += padding;
        line += cell;
      } else {
        line += cell;
        line += padding;
      }
    }
    trim_trailing_spaces(line);
    out += line;
    out += '\n';
  };

  append_line([&](std::size_t i) -> const std::string& { return columns_[i].header; });
  for (const auto& row : rows_) {
    append_line([&](std::size_t i) -> const std::string& { return row[i]; });
  }
  return out;
}

}  // namespace hapbx::core
