// HubApi's federated-learning endpoints (/v1/fl/...): the routing and authentication are in
// api.cc (admins create and read tasks, devices check in and take part in rounds); FlService
// does the work.
#include "fleet/canonical_json.h"
#include "hub/api.h"
#include "hub/http_util.h"

namespace tern::hub {

HttpResponse HubApi::Fl(const HttpRequest& r, const Principal& who) {
  if (!fleet_.fl) return ErrorResponse(404, "federated learning is not enabled on this hub");
  FlService& fl = *fleet_.fl;
  const auto& p = r.path;  // v1 fl ...
  fleet::Json body = fleet::Json::object();
  if (r.method == "POST") {
    auto parsed = fleet::ParseJson(r.body, 16);
    if (!parsed.ok()) return ErrorResponse(400, parsed.status().message());
    body = std::move(*parsed);
  }
  FlReply reply{404, {{"error", "no such endpoint"}}};
  if (p.size() == 3 && p[2] == "checkin") {
    reply = fl.CheckIn(who.id, body);
  } else if (p.size() == 3) {
    reply = r.method == "POST" ? fl.CreateTask(body) : fl.ListTasks();
  } else if (p.size() == 4) {
    reply = fl.GetTask(p[3]);
  } else if (p.size() == 5 && p[4] == "secagg") {
    reply = r.method == "POST" ? fl.SecAggPost(p[3], who.id, body)
                               : fl.SecAggGet(p[3], who.id, r.query);
  } else if (p.size() == 5 && p[4] == "report" && r.method == "POST") {
    reply = fl.Report(p[3], who.id, body);
  } else if (p.size() == 5 && p[4] == "abandon" && r.method == "POST") {
    reply = fl.Abandon(p[3], who.id, body);
  }
  HttpResponse res = JsonResponse(reply.status, reply.body);
  res.SetHeader("Cache-Control", "no-store");
  return res;
}

}  // namespace tern::hub
