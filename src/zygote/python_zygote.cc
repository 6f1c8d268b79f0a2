// nimbus-python-zygote: the Python fork-server (see sandbox/zygote.h).
//
//   argv: the exec'd runtime's (python3 -S -B /var/runtime/python/bootstrap.py),
//         because instances show it as their /proc/PID/cmdline
//   fd 3: the request socket    fd 4: the host's runtime directory (runtimes/)
//
// Starts the interpreter as the plain launcher's `python3 -S -B` would, imports
// bootstrap.py from fd 4's python/ folder, and then serves Nimbus's requests. Each
// instance returns from serve_zygote() inside its sandbox and runs
// bootstrap.run_forked(argv, env), which is the bootstrap's main() with the
// instance's environment. No function code ever runs in the zygote itself.
#include <Python.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "sandbox/zygote.h"

namespace {

constexpr int kSocketFd = 3;
constexpr const char* kRuntimeDir = "/proc/self/fd/4";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "nimbus-python-zygote: %s\n", message.c_str());
  std::exit(1);
}

// _nimbus_fork.fork_joined(fds) -> (pid, errno): os.fork(), except that the
// child writes "0" to each of `fds` (cgroup.procs files) before anything
// else, errno 0 on success. A snapshot template forks its copies with it
// (runtimes/python/bootstrap.py): what a copy dirties of the template's
// memory is charged to the cgroup it is in at the time, and Python's after-fork
// work alone dirties a few hundred KB, which a burst of copies would otherwise
// pile onto the template's own cgroup until its memory limit kills it.
PyObject* fork_joined(PyObject*, PyObject* args) {
  PyObject* list = nullptr;
  if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &list)) return nullptr;
  std::vector<int> fds;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); ++i) {
    long fd = PyLong_AsLong(PyList_GET_ITEM(list, i));
    if (fd == -1 && PyErr_Occurred()) return nullptr;
    fds.push_back(static_cast<int>(fd));
  }
  PyOS_BeforeFork();
  pid_t pid = ::fork();
  int join_errno = 0;
  if (pid == 0) {
    for (int fd : fds)
      if (::write(fd, "0", 1) != 1 && join_errno == 0) join_errno = errno ? errno : EIO;
    PyOS_AfterFork_Child();
  } else {
    int fork_errno = errno;
    PyOS_AfterFork_Parent();
    if (pid < 0) {
      errno = fork_errno;
      return PyErr_SetFromErrno(PyExc_OSError);
    }
  }
  return Py_BuildValue("(ii)", static_cast<int>(pid), join_errno);
}

PyMethodDef kForkMethods[] = {
    {"fork_joined", fork_joined, METH_VARARGS, "fork; the child joins cgroups first"},
    {nullptr, nullptr, 0, nullptr}};
PyModuleDef kForkModule = {PyModuleDef_HEAD_INIT, "_nimbus_fork", nullptr, -1, kForkMethods};

PyObject* init_fork_module() {
  return PyModule_Create(&kForkModule);
}

// What `python3 -S -B` sets: no site (the bootstrap adds Debian's
// dist-packages itself), no .pyc writing (code directories are read-only).
void start_interpreter() {
  PyImport_AppendInittab("_nimbus_fork", init_fork_module);
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.site_import = 0;
  config.write_bytecode = 0;
  config.parse_argv = 0;
  config.user_site_directory = 0;
  PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) die("cannot start Python");
}

int thread_count() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

PyObject* import_bootstrap(const std::string& runtime_dir) {
  PyObject* sys_path = PySys_GetObject("path");  // borrowed
  PyObject* dir = PyUnicode_FromString((runtime_dir + "/python").c_str());
  if (!sys_path || !dir || PyList_Insert(sys_path, 0, dir) != 0) die("cannot set sys.path");
  PyObject* module = PyImport_ImportModule("bootstrap");
  if (!module) {
    PyErr_Print();
    die("cannot import bootstrap from " + runtime_dir + "/python");
  }
  // The bootstrap builds the instance's sys.path itself.
  PySequence_DelItem(sys_path, 0);
  Py_DECREF(dir);
  // boto3 & co., imported once here instead of in every instance.
  PyObject* preloaded = PyObject_CallMethod(module, "preload", nullptr);
  if (!preloaded) PyErr_Print();  // not fatal: instances import it themselves
  Py_XDECREF(preloaded);
  // A fork copies only the calling thread: a thread started by an import
  // would be missing in every instance (and any lock it held, held forever).
  // Then serve nothing: Nimbus falls back to exec'ing each instance.
  if (int threads = thread_count(); threads != 1)
    die("the preloaded modules started " + std::to_string(threads - 1) +
        " thread(s); a fork-server cannot serve safely");
  return module;
}

PyObject* string_list(const std::vector<std::string>& items) {
  PyObject* list = PyList_New(0);
  for (const auto& s : items) {
    PyObject* item = PyUnicode_DecodeFSDefaultAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
    if (!item || PyList_Append(list, item) != 0) return nullptr;
    Py_DECREF(item);
  }
  return list;
}

// In the instance: the bootstrap's main loop, as the exec'd runtime would run it.
[[noreturn]] void run_instance(PyObject* bootstrap, const nimbus::sandbox::Spec& spec) {
  PyOS_AfterFork_Child();
  PyObject* argv = string_list(spec.argv);
  PyObject* env = string_list(spec.env);
  PyObject* result =
      argv && env ? PyObject_CallMethod(bootstrap, "run_forked", "OO", argv, env) : nullptr;
  if (!result) PyErr_Print();  // SystemExit exits here with its code
  Py_Exit(result ? 0 : 1);
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  // Die with the Nimbus thread that started us; it may already be gone.
  pid_t parent = ::getppid();
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || ::getppid() != parent || parent == 1)
    return 1;
  start_interpreter();
  PyObject* bootstrap = import_bootstrap(kRuntimeDir);

  nimbus::sandbox::ZygoteHooks hooks;
  hooks.before_fork = [] { PyOS_BeforeFork(); };
  hooks.after_fork_in_parent = [] { PyOS_AfterFork_Parent(); };
  auto spec = nimbus::sandbox::serve_zygote(kSocketFd, hooks);
  if (!spec) die(spec.error().message);
  if (!*spec) {  // Nimbus closed the socket
    Py_Finalize();
    return 0;
  }
  run_instance(bootstrap, **spec);
}
