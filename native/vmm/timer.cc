// TimerService: see timer.h.
#include "vmm/timer.h"

#include <chrono>
#include <vector>

#include "vmm/clock.h"

namespace tsvirt::vmm {

TimerService::~TimerService() { stop(); }

TimerService::TimerId TimerService::create(Callback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back(Entry{std::move(callback), 0, false});
  return static_cast<TimerId>(entries_.size() - 1);
}

void TimerService::arm(TimerId id, uint64_t deadline_ns) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (id < 0 || static_cast<size_t>(id) >= entries_.size()) return;
    entries_[id].deadline = deadline_ns;
    entries_[id].armed = true;
  }
  cv_.notify_one();
}

void TimerService::cancel(TimerId id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id < 0 || static_cast<size_t>(id) >= entries_.size()) return;
  entries_[id].armed = false;
}

void TimerService::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void TimerService::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

uint64_t TimerService::fired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fired_;
}

void TimerService::loop() {
  std::vector<TimerId> due;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    uint64_t now = monotonic_ns();
    uint64_t next = UINT64_MAX;
    due.clear();
    for (size_t i = 0; i < entries_.size(); ++i) {
      Entry& e = entries_[i];
      if (!e.armed) continue;
      if (e.deadline <= now) {
        e.armed = false;
        due.push_back(static_cast<TimerId>(i));
      } else if (e.deadline < next) {
        next = e.deadline;
      }
    }
    if (!due.empty()) {
      fired_ += due.size();
      lock.unlock();
      // Entries are never removed and a deque never moves them, so the callbacks stay
      // valid without the lock.
      for (TimerId id : due) {
        Callback* cb = nullptr;
        {
          std::lock_guard<std::mutex> relock(mu_);
          cb = &entries_[id].callback;
        }
        (*cb)(now);
      }
      lock.lock();
      continue;
    }
    if (next == UINT64_MAX) {
      cv_.wait(lock);
    } else {
      auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next));
      cv_.wait_until(lock, deadline);
    }
  }
}

}  // namespace tsvirt::vmm
