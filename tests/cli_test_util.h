// Running the mote tool's commands in-process, and reading what they wrote.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace mote::test {

// cmd: one of cli::cmd_* ; args: what follows the command's name.
inline int run_command(int (*cmd)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return cmd(static_cast<int>(argv.size()), argv.data());
}

// The whole file as bytes in a string; empty when it cannot be opened.
inline std::string read_file(const std::string& path) {
  std::string s;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
  }
  return s;
}

}  // namespace mote::test
