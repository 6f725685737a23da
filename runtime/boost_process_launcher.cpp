#include "runtime/boost_process_launcher.hpp"

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <map>
#include <mutex>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/search_path.hpp>
#include <boost/process/start_dir.hpp>

namespace bp = boost::process;
namespace asio = boost::asio;

namespace cw::runtime {

using actors::launch_request;

struct boost_process_launcher::impl {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  asio::signal_set sigchld;
  // Guards `children`; written on the I/O thread, read by running().
  mutable std::mutex mtx;
  std::condition_variable all_reaped;
  std::map<int64_t, exit_callback> children;
  std::thread thread;

  asio::steady_timer sweep{ioc};

  impl() : work(ioc.get_executor()), sigchld(ioc, SIGCHLD) {
    wait_for_sigchld();
    sweep_periodically();
    thread = std::thread([this] { ioc.run(); });
  }

  /// A backstop for SIGCHLD: the signal can be consumed elsewhere in a
  /// process that embeds the node (another library's handler, a test's own
  /// child management), so every second the children are checked anyway.
  void sweep_periodically() {
    sweep.expires_after(std::chrono::seconds(1));
    sweep.async_wait([this](const boost::system::error_code& ec) {
      if (ec)
        return;
      reap();
      sweep_periodically();
    });
  }

  void wait_for_sigchld() {
    sigchld.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec)
        return;
      reap();
      wait_for_sigchld();
    });
  }

  /// Collects every child that ended. SIGCHLD signals coalesce, so each one
  /// checks all children.
  void reap() {
    std::vector<std::pair<exit_callback, int>> ended;
    {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto i = children.begin(); i != children.end();) {
        int status = 0;
        auto rc = ::waitpid(static_cast<pid_t>(i->first), &status, WNOHANG);
        if (rc == 0 || (rc < 0 && errno == EINTR)) {
          ++i;
          continue;
        }
        if (rc < 0)
          status = -1;
        ended.emplace_back(std::move(i->second), status);
        i = children.erase(i);
      }
      if (children.empty())
        all_reaped.notify_all();
    }
    for (auto& [callback, status] : ended) {
      if (status == -1)
        callback(task_outcome{task_status::failed, -1, 0,
                              "process vanished before it was reaped"});
      else
        callback(actors::outcome_from_wait_status(status));
    }
  }

  void start(launch_request& req, start_callback& on_start,
             exit_callback& on_exit) {
    auto fail = [&](std::string reason) {
      on_exit(task_outcome{task_status::failed, -1, 0, std::move(reason)});
    };
    boost::filesystem::path exe;
    const auto& program = req.argv.front();
    if (program.find('/') == std::string::npos) {
      // Look up the program on the PATH the process gets, not the node's.
      std::vector<boost::filesystem::path> dirs;
      if (auto i = req.env.find("PATH"); i != req.env.end()) {
        std::string_view rest = i->second;
        while (!rest.empty()) {
          auto colon = rest.find(':');
          auto dir = rest.substr(0, colon);
          if (!dir.empty())
            dirs.emplace_back(std::string{dir});
          rest = colon == std::string_view::npos ? std::string_view{}
                                                 : rest.substr(colon + 1);
        }
      }
      exe = bp::search_path(program, dirs);
      if (exe.empty())
        return fail("program not found: " + program);
    } else {
      exe = program;
      if (::access(program.c_str(), X_OK) != 0)
        return fail("cannot execute " + program + ": "
                    + std::strerror(errno));
    }
    FILE* log = std::fopen(req.log_path.c_str(), "a");
    if (log == nullptr)
      return fail("cannot open log file " + req.log_path + ": "
                  + std::strerror(errno));
    bp::environment env;
    for (auto& [key, value] : req.env)
      env[key] = value;
    std::vector<std::string> args(req.argv.begin() + 1, req.argv.end());
    try {
      bp::child child{
        bp::exe = exe,
        bp::args = args,
        env,
        bp::start_dir = req.workspace,
        bp::std_in < bp::null,
        (bp::std_out & bp::std_err) > log,
        bp::extend::on_exec_setup =
          [](auto&) {
            // Runs in the child between fork and exec, where only
            // async-signal-safe calls are allowed: another thread of the
            // node may have held the allocator's lock at the fork (this is
            // why bp::limit_handles, which allocates, is not used).
            // Own process group, so the whole tree can be signalled; and no
            // signal mask inherited from the node (cw-node blocks SIGTERM).
            ::setpgid(0, 0);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            // No descriptor of the node (sockets, journal, other logs)
            // leaks into the agent; stdin/out/err are already in place
            // (this initializer comes after the redirections).
            if (::close_range(3, ~0U, 0) != 0)
              for (int fd = 3; fd < 4096; ++fd)
                ::close(fd);
          },
      };
      auto pid = static_cast<int64_t>(child.id());
      // The launcher reaps the child itself (SIGCHLD + waitpid).
      child.detach();
      std::fclose(log);
      {
        std::lock_guard<std::mutex> guard{mtx};
        children.emplace(pid, std::move(on_exit));
      }
      on_start(pid);
      // The child may have ended before it was in `children`.
      reap();
    } catch (const std::exception& ex) {
      std::fclose(log);
      fail("cannot start " + program + ": " + ex.what());
    }
  }

  bool is_running(int64_t pid) const {
    std::lock_guard<std::mutex> guard{mtx};
    return children.count(pid) != 0;
  }

  void kill_group(int64_t pid, std::chrono::milliseconds grace) {
    if (!is_running(pid))
      return;
    ::kill(-static_cast<pid_t>(pid), SIGTERM);
    auto timer = std::make_shared<asio::steady_timer>(ioc, grace);
    timer->async_wait([this, timer, pid](const boost::system::error_code&) {
      if (is_running(pid))
        ::kill(-static_cast<pid_t>(pid), SIGKILL);
    });
  }
};

boost_process_launcher::boost_process_launcher()
  : impl_(std::make_unique<impl>()) {
  // nop
}

boost_process_launcher::~boost_process_launcher() {
  shutdown(std::chrono::seconds(5));
}

void boost_process_launcher::launch(launch_request req, start_callback on_start,
                                    exit_callback on_exit) {
  asio::post(impl_->ioc, [this, req = std::move(req),
                          on_start = std::move(on_start),
                          on_exit = std::move(on_exit)]() mutable {
    impl_->start(req, on_start, on_exit);
  });
}

void boost_process_launcher::terminate(int64_t pid,
                                       std::chrono::milliseconds grace) {
  asio::post(impl_->ioc, [this, pid, grace] { impl_->kill_group(pid, grace); });
}

void boost_process_launcher::shutdown(std::chrono::milliseconds grace) {
  auto& d = *impl_;
  if (!d.thread.joinable())
    return;
  std::vector<int64_t> pids;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    for (auto& [pid, callback] : d.children)
      pids.push_back(pid);
  }
  for (auto pid : pids)
    terminate(pid, grace);
  {
    std::unique_lock<std::mutex> guard{d.mtx};
    d.all_reaped.wait_for(guard, grace + std::chrono::seconds(2),
                          [&] { return d.children.empty(); });
  }
  d.work.reset();
  d.ioc.stop();
  d.thread.join();
}

size_t boost_process_launcher::running() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->children.size();
}

} // namespace cw::runtime
