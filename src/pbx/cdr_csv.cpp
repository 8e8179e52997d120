// Master.csv line format and durable appends: see cdr_csv.h.
#include "pbx/cdr_csv.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hapbx::pbx {

namespace {

void quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '\0') continue;
    if (c == '"') out += '"';
    out += c;
  }
  out += "\",";
}

void time_field(std::string& out, std::chrono::system_clock::time_point t, bool gmt) {
  quoted(out, format_cdr_time(t, gmt));
}

std::string errno_text(int err) { return std::strerror(err); }

// Writes all of `data`, retrying short writes and EINTR.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string format_cdr_csv_line(const CdrRecord& r, const CdrCsvSettings& csv) {
  std::string out;
  out.reserve(256 + r.clid.size() + r.lastdata.size() + r.userfield.size());
  quoted(out, r.accountcode);
  quoted(out, r.src);
  quoted(out, r.dst);
  quoted(out, r.dcontext);
  quoted(out, r.clid);
  quoted(out, r.channel);
  quoted(out, r.dstchannel);
  quoted(out, r.lastapp);
  quoted(out, r.lastdata);
  time_field(out, r.start, csv.use_gmt);
  if (r.answer) {
    time_field(out, *r.answer, csv.use_gmt);
  } else {
    out += ',';
  }
  time_field(out, r.end, csv.use_gmt);
  out += std::to_string(r.duration);
  out += ',';
  out += std::to_string(r.billsec);
  out += ',';
  quoted(out, to_string(r.disposition));
  quoted(out, r.amaflags);
  if (csv.log_uniqueid) quoted(out, r.uniqueid);
  if (csv.log_userfield) quoted(out, r.userfield);
  out.back() = '\n';  // the last field's comma
  return out;
}

bool is_safe_account_file_name(std::string_view accountcode) {
  if (accountcode.empty() || accountcode.front() == '.' || accountcode == "Master") return false;
  for (char c : accountcode) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return accountcode.size() <= 200;  // a file name, not a path; NAME_MAX is 255
}

Status append_durably(const std::filesystem::path& file, std::string_view data) {
  bool created = false;
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd >= 0) {
    created = true;
  } else if (errno == EEXIST) {
    fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return make_error(file.string() + ": cannot open for appending: " + errno_text(errno));
  if (!write_all(fd, data)) {
    const int err = errno;
    ::close(fd);
    return make_error(file.string() + ": write failed: " + errno_text(err));
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(file.string() + ": fsync failed: " + errno_text(err));
  }
  if (::close(fd) != 0) return make_error(file.string() + ": close failed: " + errno_text(errno));
  if (created) {
    // The new directory entry must reach the disk too, or a power loss loses the whole file.
    const std::filesystem::path parent =
        file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || ::fsync(dir) != 0) {
      const int err = errno;
      if (dir >= 0) ::close(dir);
      return make_error(parent.string() + ": fsync of the directory failed: " +
                        errno_text(err));
    }
    ::close(dir);
  }
  return Status::Ok();
}

}  // namespace hapbx::pbx
