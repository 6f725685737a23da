#include "actors/resources/wait_for_graph.hpp"

#include <algorithm>

namespace cw::actors {

bool wait_for_graph::add_edge(node_id from, node_id to, request_id via) {
  grow(std::max(from, to));
  auto& out = out_[from];
  auto same = [&](const out_edge& e) { return e.to == to && e.via == via; };
  if (std::any_of(out.begin(), out.end(), same))
    return false;
  out.push_back({to, via});
  ++edges_;
  return true;
}

void wait_for_graph::remove_edges(node_id from, request_id via) {
  if (from >= out_.size())
    return;
  auto& out = out_[from];
  auto last = std::remove_if(out.begin(), out.end(),
                             [via](const out_edge& e) { return e.via == via; });
  edges_ -= static_cast<size_t>(out.end() - last);
  out.erase(last, out.end());
}

std::vector<wait_for_graph::edge> wait_for_graph::find_cycle(node_id start) {
  std::vector<edge> path;
  if (start >= out_.size() || out_[start].empty())
    return path;
  if (++epoch_ == 0) {
    // The counter wrapped: old marks could equal the new epoch.
    std::fill(mark_.begin(), mark_.end(), 0);
    epoch_ = 1;
  }
  // Depth-first search; `path` holds the edge into each frame but the root.
  // A node finished without reaching `start` cannot reach it later in this
  // search, so every node and edge is looked at once.
  stack_.clear();
  stack_.push_back({start, 0});
  mark_[start] = epoch_;
  while (!stack_.empty()) {
    auto [node, next] = stack_.back();
    if (next == out_[node].size()) {
      stack_.pop_back();
      if (!path.empty())
        path.pop_back();
      continue;
    }
    ++stack_.back().next;
    auto e = out_[node][next];
    if (e.to == start) {
      path.push_back({node, e.to, e.via});
      return path;
    }
    if (mark_[e.to] == epoch_)
      continue;
    mark_[e.to] = epoch_;
    path.push_back({node, e.to, e.via});
    stack_.push_back({e.to, 0});
  }
  return path;
}

std::vector<wait_for_graph::edge>
wait_for_graph::edges_from(node_id from) const {
  std::vector<edge> result;
  if (from < out_.size())
    for (auto& e : out_[from])
      result.push_back({from, e.to, e.via});
  return result;
}

void wait_for_graph::grow(node_id n) {
  if (n >= out_.size()) {
    out_.resize(static_cast<size_t>(n) + 1);
    mark_.resize(static_cast<size_t>(n) + 1, 0);
  }
}

} // namespace cw::actors
