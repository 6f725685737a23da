#define CAF_SUITE actors.journal_writer
#include "caf/test/unit_test.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include <set>

#include "actors/journal/journal_writer.hpp"
#include "messages/register_types.hpp"
#include "persistence/journal.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace std::chrono_literals;

// The journal writer runs on its own thread, so this suite uses a real actor
// system and bounded request timeouts instead of the test coordinator.

CAF_TEST(every acknowledged append is durable and gets its own seqs) {
  test::temp_dir dir;
  auto path = dir.file("journal.db");
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto j = persistence::journal::open(path);
  CAF_REQUIRE(j);
  auto writer = actors::spawn_journal_writer(
    sys, std::shared_ptr<persistence::journal>{std::move(*j)});
  caf::scoped_actor self{sys};
  constexpr int appends = 200;
  // All requests are in flight at once, so they share transactions.
  for (int i = 0; i < appends; ++i) {
    std::vector<event> evs(2);
    for (auto& ev : evs) {
      ev.type = "test.event";
      ev.entity = "test/" + std::to_string(i);
      ev.payload = "{}";
    }
    self->send(writer, append_atom_v, std::move(evs));
  }
  std::set<uint64_t> last_seqs;
  for (int i = 0; i < appends; ++i)
    self->receive([&](uint64_t seq) { last_seqs.insert(seq); },
                  [&](caf::error& err) { CAF_FAIL(sys.render(err)); },
                  caf::after(10s) >> [] { CAF_FAIL("no acknowledgement"); });
  CAF_CHECK_EQUAL(last_seqs.size(), static_cast<size_t>(appends));
  CAF_CHECK_EQUAL(*last_seqs.rbegin(), static_cast<uint64_t>(2 * appends));
  // Acknowledged means committed: another connection sees every event.
  auto reader = persistence::journal::open(path, {persistence::durability::full, true});
  CAF_REQUIRE(reader);
  CAF_CHECK_EQUAL((*reader)->last_seq(), static_cast<uint64_t>(2 * appends));
  uint64_t expected = 1;
  CAF_CHECK((*reader)->read(1, [&](event& ev) {
    CAF_CHECK_EQUAL(ev.seq, expected++);
  }));
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}

CAF_TEST(observers get every committed event in seq order before its ack) {
  test::temp_dir dir;
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto j = persistence::journal::open(dir.file("journal.db"));
  CAF_REQUIRE(j);
  caf::scoped_actor self{sys};
  // The test itself is the observer: commits and acks share its mailbox,
  // so their order is visible.
  auto writer = actors::spawn_journal_writer(
    sys, std::shared_ptr<persistence::journal>{std::move(*j)},
    {caf::actor_cast<observer_actor>(self)});
  constexpr int appends = 50;
  for (int i = 0; i < appends; ++i) {
    std::vector<event> evs(2);
    for (auto& ev : evs) {
      ev.type = "test.event";
      ev.entity = "test/" + std::to_string(i);
      ev.payload = "{}";
    }
    self->send(writer, append_atom_v, std::move(evs));
  }
  std::vector<event> observed;
  int acks = 0;
  for (int i = 0; acks < appends && i < 10 * appends; ++i)
    self->receive(
      [&](committed_atom, std::vector<event>& evs) {
        CAF_CHECK(!evs.empty());
        for (auto& ev : evs)
          observed.push_back(std::move(ev));
      },
      [&](uint64_t seq) {
        ++acks;
        // Acknowledged means the observer was already handed it.
        CAF_CHECK(!observed.empty() && observed.back().seq >= seq);
      },
      [&](caf::error& err) { CAF_FAIL(sys.render(err)); },
      caf::after(10s) >> [] { CAF_FAIL("no commit and no ack within 10 s"); });
  CAF_CHECK_EQUAL(acks, appends);
  CAF_REQUIRE_EQUAL(observed.size(), static_cast<size_t>(2 * appends));
  for (size_t i = 0; i < observed.size(); ++i) {
    CAF_CHECK_EQUAL(observed[i].seq, i + 1);
    CAF_CHECK_EQUAL(observed[i].entity, "test/" + std::to_string(i / 2));
    CAF_CHECK_NOT_EQUAL(observed[i].checksum, 0u);
  }
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}
