// AdminHttpServer: the admin HTTP listener ("stats bind ADDR:PORT") on the control thread's
// event loop. Serves GET /metrics (Prometheus text format), GET / and /stats (the HTML
// stats page) and GET /stats.json (the figures the page refreshes from). HTTP/1.1, one
// request per connection, bounded request size, clients and idle time; anything else gets
// a 4xx and changes nothing.
#pragma once

#include <memory>

#include "admin/control.h"
#include "admin/stats_view.h"
#include "common/event_loop.h"
#include "common/net.h"

namespace fulcrum::admin {

class AdminHttpServer {
 public:
  AdminHttpServer(EventLoop& loop, Control& control, const RateTracker* rates,
                  model::StatsHttpBind bind);
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  Status open();
  SockAddr boundAddr() const;  // the address actually bound (port 0 resolved)
  const model::StatsHttpBind& bind() const { return bind_; }

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  model::StatsHttpBind bind_;
};

}  // namespace fulcrum::admin
