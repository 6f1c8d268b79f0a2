// Runs a service's handle() on the worker pool instead of the I/O thread, for
// services whose requests do blocking work (synced store writes, scans).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include "aws/service.h"

namespace nimbus::server {

class OnWorker final : public aws::Service {
 public:
  OnWorker(aws::Service& inner, boost::asio::any_io_executor worker)
      : inner_(inner), worker_(std::move(worker)) {}
  std::string_view signing_name() const override { return inner_.signing_name(); }
  aws::Protocol protocol() const override { return inner_.protocol(); }
  std::string_view json_namespace() const override { return inner_.json_namespace(); }
  void handle(aws::Call call) override {
    boost::asio::post(worker_,
                      [this, call = std::move(call)]() mutable { inner_.handle(std::move(call)); });
  }
  void reset() override { inner_.reset(); }
  std::string health() const override { return inner_.health(); }

 private:
  aws::Service& inner_;
  boost::asio::any_io_executor worker_;
};

}  // namespace nimbus::server
