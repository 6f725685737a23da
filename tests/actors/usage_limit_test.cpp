#define CAF_SUITE actors.usage_limit
#include "caf/test/unit_test.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "actors/claude/time_zone.hpp"
#include "actors/claude/usage_limit.hpp"

using namespace cw;
using namespace cw::actors;

namespace {

/// Returns the reset `text` names, in Unix seconds, read at `now_s` on a node
/// `utc_offset_minutes` east of UTC; -1 if it names none or is no usage limit.
int64_t reset_s(std::string_view text, int64_t now_s,
                int32_t utc_offset_minutes = 0) {
  auto x = detect_usage_limit(text, now_s * 1000, utc_offset_minutes);
  if (x.kind != limit_kind::usage_limit || !x.reset_at_ms)
    return -1;
  return *x.reset_at_ms / 1000;
}

std::string be32(uint32_t x) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((x >> shift) & 0xFF);
  return out;
}

std::string be64(int64_t x) {
  auto u = static_cast<uint64_t>(x);
  return be32(static_cast<uint32_t>(u >> 32))
         + be32(static_cast<uint32_t>(u & 0xFFFFFFFF));
}

/// Returns a TZif file of `version` (`'\0'` for version 1, `'2'`) whose
/// `transitions` (time, type index) switch between `offsets`, with the footer
/// `footer` in version 2.
std::string
make_tzif(char version,
          const std::vector<std::pair<int64_t, uint8_t>>& transitions,
          const std::vector<int32_t>& offsets, std::string_view footer) {
  auto header = [&] {
    std::string h = "TZif";
    h += version;
    h += std::string(15, '\0');
    h += be32(0) + be32(0) + be32(0);
    h += be32(static_cast<uint32_t>(transitions.size()));
    h += be32(static_cast<uint32_t>(offsets.size()));
    h += be32(4);
    return h;
  };
  auto block = [&](size_t time_size) {
    std::string b;
    for (auto& [t, type] : transitions)
      b += time_size == 8 ? be64(t) : be32(static_cast<uint32_t>(t));
    for (auto& [t, type] : transitions)
      b += static_cast<char>(type);
    for (auto utoff : offsets) {
      b += be32(static_cast<uint32_t>(utoff));
      b += std::string(2, '\0');
    }
    b += std::string{"ZZZ"} + '\0';
    return b;
  };
  auto out = header() + block(4);
  if (version != '\0')
    out += header() + block(8) + "\n" + std::string{footer} + "\n";
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

// -- named zones --------------------------------------------------------------

CAF_TEST(a named zone is read with its own offset in winter) {
  // 2026-01-15T10:00Z on a UTC node: 4:50am CET (UTC+1) = 03:50Z.
  CAF_CHECK_EQUAL(
    reset_s("You've hit your limit · resets 4:50am (Europe/Rome)", 1768471200),
    1768535400);
}

CAF_TEST(a named zone is read with its own offset in summer) {
  // 2026-07-10T01:00Z on a UTC node (03:00 in Rome): 4:50am CEST = 02:50Z.
  CAF_CHECK_EQUAL(
    reset_s("You've hit your limit · resets 4:50am (Europe/Rome)", 1783645200),
    1783651800);
  // The node's own offset does not matter when the zone is named.
  CAF_CHECK_EQUAL(reset_s("You've hit your limit · resets 4:50am "
                          "(Europe/Rome)",
                          1783645200, -300),
                  1783651800);
}

CAF_TEST(the next reset after a DST change uses the offset of that day) {
  constexpr std::string_view text
    = "5-hour limit reached ∙ resets 1am (America/Los_Angeles)";
  // 2026-03-08 01:30 PST, just before clocks go to 3am PDT: the next 1am is
  // 2026-03-09 01:00 PDT = 08:00Z, not 09:00Z.
  CAF_CHECK_EQUAL(reset_s(text, 1772962200), 1773043200);
  // 2026-11-01: 1am comes twice, 08:00Z (PDT) and 09:00Z (PST).
  CAF_CHECK_EQUAL(reset_s(text, 1793518200), 1793520000);
  CAF_CHECK_EQUAL(reset_s(text, 1793521800), 1793523600);
}

CAF_TEST(a zone east of UTC can already be on tomorrow) {
  // 2026-03-10T20:00Z is 05:00 on Mar 11 in Tokyo: 3am is Mar 12 03:00 JST.
  CAF_CHECK_EQUAL(reset_s("You've hit your session limit · resets 3am "
                          "(Asia/Tokyo)",
                          1773172800),
                  1773252000);
  // 01:30 on Mar 11 in India: 1:20pm that day, 07:50Z on Mar 11.
  CAF_CHECK_EQUAL(reset_s("You've hit your session limit · resets 1:20pm "
                          "(Asia/Kolkata)",
                          1773172800),
                  1773215400);
}

CAF_TEST(an unknown zone falls back to the node zone) {
  CAF_CHECK(!load_time_zone("Mars/Olympus_Mons"));
  CAF_CHECK(!load_time_zone("Europe")); // a directory
  // 2026-01-15T10:00Z on a node at UTC+2: 4:50 local on Jan 16 = 02:50Z.
  CAF_CHECK_EQUAL(reset_s("You've hit your limit · resets 4:50am "
                          "(Mars/Olympus_Mons)",
                          1768471200, 120),
                  1768531800);
  // A known zone in the same text is not the node's.
  CAF_CHECK_EQUAL(reset_s("You've hit your limit · resets 4:50am "
                          "(Europe/Rome)",
                          1768471200, 120),
                  1768535400);
}

CAF_TEST(zone names that leave the zoneinfo directory are refused) {
  CAF_CHECK(!load_time_zone("../../etc/passwd"));
  CAF_CHECK(!load_time_zone("/usr/share/zoneinfo/Europe/Rome"));
  // The file exists, but the name climbs out of the directory.
  CAF_CHECK(!load_time_zone("../Europe/Rome", "/usr/share/zoneinfo/Asia"));
  CAF_CHECK(load_time_zone("Rome", "/usr/share/zoneinfo/Europe").has_value());
  CAF_CHECK(!load_time_zone("Europe/Rome\n"));
  CAF_CHECK(!load_time_zone("Europe//Rome"));
  // Refused means read at the node's offset.
  CAF_CHECK_EQUAL(reset_s("You've hit your limit · resets 4:50am "
                          "(../../etc/passwd)",
                          1768471200, 120),
                  1768531800);
}

CAF_TEST(UTC GMT and Etc zones need no file) {
  for (auto name : {"UTC", "GMT", "Etc/UTC", "etc/gmt", "Zulu"}) {
    auto z = load_time_zone(name, "/nonexistent");
    CAF_REQUIRE(z.has_value());
    CAF_CHECK_EQUAL(z->offset_at(1768471200), 0);
  }
  // Etc/GMT+5 is five hours west of UTC.
  auto west = load_time_zone("Etc/GMT+5", "/nonexistent");
  CAF_REQUIRE(west.has_value());
  CAF_CHECK_EQUAL(west->offset_at(0), -5 * 3600);
  CAF_CHECK(!load_time_zone("Etc/GMT+15", "/nonexistent"));
  // 2025-06-14T17:56Z, 12:56 at UTC-5: 1pm is 18:00Z, the same instant the
  // CLI's bar form named.
  CAF_CHECK_EQUAL(reset_s("Claude usage limit reached. Your limit will reset "
                          "at 1pm (Etc/GMT+5).",
                          1749923760, 540),
                  1749924000);
  CAF_CHECK_EQUAL(reset_s("You've hit your session limit · resets 3:50pm "
                          "(GMT)",
                          1771372800, 540),
                  1771429800);
}

// -- TZif parsing -------------------------------------------------------------

CAF_TEST(the footer rule holds after the last transition) {
  // The real file: transitions end in 2037, the footer goes on.
  auto rome = load_time_zone("Europe/Rome");
  CAF_REQUIRE(rome.has_value());
  CAF_CHECK_EQUAL(rome->offset_at(2224713600), 7200); // 2040-07-01
  CAF_CHECK_EQUAL(rome->offset_at(2210198400), 3600); // 2040-01-15
  // A file of a footer only (as `zic -b slim` writes).
  auto la = time_zone::parse_tzif(
    make_tzif('2', {}, {-28800}, "PST8PDT,M3.2.0,M11.1.0"));
  CAF_REQUIRE(la.has_value());
  CAF_CHECK_EQUAL(la->offset_at(1772963999), -28800); // 2026-03-08 09:59:59Z
  CAF_CHECK_EQUAL(la->offset_at(1772964000), -25200);
  CAF_CHECK_EQUAL(la->offset_at(1793523599), -25200); // 2026-11-01 08:59:59Z
  CAF_CHECK_EQUAL(la->offset_at(1793523600), -28800);
  // Southern hemisphere, half hours.
  auto howe = time_zone::parse_tzif(
    make_tzif('2', {}, {37800}, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"));
  CAF_REQUIRE(howe.has_value());
  CAF_CHECK_EQUAL(howe->offset_at(1768471200), 39600); // January
  CAF_CHECK_EQUAL(howe->offset_at(1783645200), 37800); // July
  // A negative transition time: 2026-03-29 at -1:00, i.e. 01:00Z.
  auto nuuk = time_zone::parse_tzif(
    make_tzif('2', {}, {-7200}, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0"));
  CAF_REQUIRE(nuuk.has_value());
  CAF_CHECK_EQUAL(nuuk->offset_at(1774745999), -7200);
  CAF_CHECK_EQUAL(nuuk->offset_at(1774746000), -3600);
}

CAF_TEST(without a usable footer the last transition holds) {
  // A daylight zone without a rule is not something this parser reads.
  auto z = time_zone::parse_tzif(
    make_tzif('2', {{1000, 1}}, {0, 3600}, "XYZ0ABC"));
  CAF_REQUIRE(z.has_value());
  CAF_CHECK_EQUAL(z->offset_at(999), 0);
  CAF_CHECK_EQUAL(z->offset_at(2'000'000'000), 3600);
  // Version 1: 32-bit times, no footer.
  auto v1 = time_zone::parse_tzif(make_tzif('\0', {{1000, 1}}, {0, 3600}, ""));
  CAF_REQUIRE(v1.has_value());
  CAF_CHECK_EQUAL(v1->offset_at(999), 0);
  CAF_CHECK_EQUAL(v1->offset_at(1000), 3600);
}

CAF_TEST(malformed TZif data is refused) {
  CAF_CHECK(!time_zone::parse_tzif(""));
  CAF_CHECK(!time_zone::parse_tzif("TZif2"));
  CAF_CHECK(!time_zone::parse_tzif("root:x:0:0:root:/root:/bin/bash\n"));
  // A type index past the types.
  CAF_CHECK(
    !time_zone::parse_tzif(make_tzif('\0', {{1000, 2}}, {0, 3600}, "")));
  // Transitions out of order.
  CAF_CHECK(!time_zone::parse_tzif(
    make_tzif('\0', {{1000, 1}, {500, 0}}, {0, 3600}, "")));
  // No types.
  CAF_CHECK(!time_zone::parse_tzif(make_tzif('\0', {}, {}, "")));
  // Every cut of a real file is refused or read without fault.
  auto rome = read_file("/usr/share/zoneinfo/Europe/Rome");
  CAF_REQUIRE(rome.size() > 100);
  CAF_CHECK(time_zone::parse_tzif(rome).has_value());
  size_t refused = 0;
  for (size_t n = 0; n < rome.size(); ++n)
    if (!time_zone::parse_tzif(std::string_view{rome}.substr(0, n)))
      ++refused;
  CAF_CHECK(refused > 0);
}

// -- limit forms --------------------------------------------------------------

CAF_TEST(the API spending limit is a usage limit until the date it names) {
  auto x = detect_usage_limit(
    R"(API Error: 400 {"type":"error","error":{"type":"invalid_request_error",)"
    R"("message":"You have reached your specified API usage limits. You will )"
    R"(regain access on 2026-01-01 at 00:00 UTC."}})",
    1766000000'000);
  CAF_CHECK(x.limited);
  CAF_CHECK_EQUAL(to_string(x.kind), "usage_limit");
  CAF_CHECK(x.reset_at_ms == int64_t{1767225600'000});
  CAF_CHECK_EQUAL(reset_s("You have reached your specified API usage limits. "
                          "You will regain access on 2025-07-01 at 13:30 UTC.",
                          0),
                  1751376600);
  // A cut-off message is still a limit, without a reset.
  x = detect_usage_limit("You have reached your specified API usage limits.",
                         0);
  CAF_CHECK_EQUAL(to_string(x.kind), "usage_limit");
  CAF_CHECK(!x.reset_at_ms);
}

CAF_TEST(running out of extra usage is a usage limit) {
  // 2026-03-01T12:00Z: 9pm in Los Angeles is 05:00Z on Mar 2.
  CAF_CHECK_EQUAL(reset_s("You're out of extra usage · resets 9pm "
                          "(America/Los_Angeles)",
                          1772366400),
                  1772427600);
  CAF_CHECK_EQUAL(to_string(detect_usage_limit("You're out of extra usage. Add "
                                               "more at claude.ai/settings/"
                                               "usage and keep going.",
                                               0)
                              .kind),
                  "usage_limit");
}

CAF_TEST(a date with at before the time is read) {
  // 2026-09-08T12:00Z: Sep 15 at 7pm (node at UTC).
  CAF_CHECK_EQUAL(reset_s("You've hit your weekly limit · resets Sep 15 at 7pm",
                          1788868800),
                  1789498800);
  // 2025-11-29T12:00Z: Dec 2, 7pm in Moscow (UTC+3) = 16:00Z.
  CAF_CHECK_EQUAL(reset_s("Weekly limit reached · resets Dec 2, 7pm "
                          "(Europe/Moscow) · /upgrade to Max or turn on "
                          "/extra-usage",
                          1764417600),
                  1764691200);
}

CAF_TEST(hit your usage limit and hit your Opus limit are usage limits) {
  for (auto text :
       {"You've hit your usage limit.", "You've hit your Opus limit",
        "You’ve hit your Opus limit · resets 5pm"}) {
    auto x = detect_usage_limit(text, 0);
    if (x.kind != limit_kind::usage_limit)
      CAF_ERROR("not a usage limit: " << text);
  }
  CAF_CHECK_EQUAL(reset_s("You've hit your Opus limit · resets 5pm", 0),
                  17 * 3600);
}

CAF_TEST(rate limit reached and server side limiting are rate limits) {
  auto x = detect_usage_limit("API Error: Rate limit reached", 0);
  CAF_CHECK_EQUAL(to_string(x.kind), "rate_limit");
  CAF_CHECK(!x.reset_at_ms);
  x = detect_usage_limit("API Error: Server is temporarily limiting requests "
                         "(not your usage limit) · Rate limited",
                         0);
  CAF_CHECK_EQUAL(to_string(x.kind), "rate_limit");
}
