#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cw::actors {

/// The wait-for graph of the lock table: an edge `a → b` says that owner `a`
/// cannot proceed until owner `b` releases or is granted something. Each edge
/// carries the id of the waiting request that makes it, so the edges of one
/// request go away together. Nodes are small dense integers chosen by the
/// caller. Owned by one `lock_table`; not thread-safe (`find_cycle` reuses
/// scratch space).
class wait_for_graph {
public:
  // -- member types -----------------------------------------------------------

  /// A node: an interned owner.
  using node_id = uint32_t;

  /// The request that makes an edge.
  using request_id = uint64_t;

  /// One edge: `from` waits for `to` because of request `via`.
  struct edge {
    node_id from = 0;
    node_id to = 0;
    request_id via = 0;

    /// Returns whether both edges are the same.
    bool operator==(const edge&) const = default;
  };

  // -- modifiers --------------------------------------------------------------

  /// Adds the edge `from → to` of request `via` unless it exists. Returns
  /// whether it was added.
  bool add_edge(node_id from, node_id to, request_id via);

  /// Removes every edge of request `via`, all of which leave `from`.
  void remove_edges(node_id from, request_id via);

  // -- queries ----------------------------------------------------------------

  /// Returns a cycle through `start` as its edges in order (the first leaves
  /// `start`, the last enters it), or an empty vector. Only cycles through
  /// `start` are searched: when every new edge touches `start`, they are the
  /// only new ones. Runs in O(V + E) of the part reachable from `start`.
  std::vector<edge> find_cycle(node_id start);

  /// Returns the edges leaving `from`, in insertion order.
  std::vector<edge> edges_from(node_id from) const;

  /// Returns the number of edges.
  size_t edge_count() const noexcept {
    return edges_;
  }

private:
  struct out_edge {
    node_id to;
    request_id via;
  };

  struct frame {
    node_id node;
    size_t next;
  };

  void grow(node_id n);

  std::vector<std::vector<out_edge>> out_;
  // Visit marks: a node is visited in the current search when its mark
  // equals `epoch_`, so a search needs no clearing pass.
  std::vector<uint32_t> mark_;
  uint32_t epoch_ = 0;
  size_t edges_ = 0;
  std::vector<frame> stack_;
};

} // namespace cw::actors
