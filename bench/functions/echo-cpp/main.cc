// Echo for provided.al2023: returns the event unchanged, writes no log line,
// so that its handler time is a few microseconds (used to isolate the
// platform's overhead in bench/warm_invoke.sh).
#include <nimbus/lambda.h>

int main() {
  using namespace nimbus::lambda;
  return run([](const Invocation& inv) {
    return Response::json(inv.payload.empty() ? "null" : inv.payload);
  });
}
