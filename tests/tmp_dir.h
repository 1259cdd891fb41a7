// A temporary folder for a test, removed with its files at the end.
#pragma once
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace mote::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/mote-test-XXXXXX";
    const char* p = mkdtemp(tmpl);
    path = p ? p : "/tmp";
  }
  ~TempDir() {
    if (DIR* d = opendir(path.c_str())) {
      while (dirent* e = readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") std::remove((path + "/" + n).c_str());
      }
      closedir(d);
    }
    rmdir(path.c_str());
  }
  std::string file(const char* name) const { return path + "/" + name; }
};

}  // namespace mote::test
