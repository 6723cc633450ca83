#include "vswitch/metrics.hpp"

#include <cstdio>
#include <map>

namespace vswitch::metrics {
namespace {

std::string escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    else out += c;
  }
  return out;
}

std::string number(const Sample& s) {
  if (s.scale == 1.0) return std::to_string(s.value);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(s.value) * s.scale);
  return buf;
}

}  // namespace

Collector& Collector::add(std::string_view family, std::string_view help, Type type, std::vector<Label> labels,
                          Section section, std::string key, std::uint64_t value, double scale) {
  out_.push_back(Sample{family, help, type, std::move(labels), section, std::move(key), value, scale});
  return *this;
}

std::string escape_label_value(std::string_view value) { return escape(value, true); }

std::string render_prometheus(const Samples& samples) {
  // Families in the order they first appear, each sample under its own family.
  std::map<std::string_view, std::size_t> rank;
  std::vector<std::vector<const Sample*>> families;
  for (const Sample& s : samples) {
    if (s.family.empty()) continue;
    const auto [it, added] = rank.try_emplace(s.family, families.size());
    if (added) families.emplace_back();
    families[it->second].push_back(&s);
  }
  std::string out;
  for (const auto& family : families) {
    const Sample& first = *family.front();
    const std::string name = "vswitch_" + std::string(first.family);
    out += "# HELP " + name + " " + escape(first.help, false) + "\n";
    out += "# TYPE " + name + (first.type == Type::counter ? " counter\n" : " gauge\n");
    for (const Sample* s : family) {
      out += name;
      if (!s->labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < s->labels.size(); ++i)
          out += (i ? "," : "") + s->labels[i].name + "=\"" + escape_label_value(s->labels[i].value) + "\"";
        out += '}';
      }
      out += " " + number(*s) + "\n";
    }
  }
  return out;
}

}  // namespace vswitch::metrics
