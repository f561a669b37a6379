/*
 * A Linux TUN device for Node.js, as an N-API addon in plain C (no node-addon-api).
 *
 * Read first: Documentation/networking/tuntap.rst in the Linux tree (TUNSETIFF, IFF_TUN, IFF_NO_PI), and
 * libuv's uv_poll_t documentation (level-triggered readiness on a file descriptor we own).
 *
 * The JS side (src/io/tun.ts) is the only intended user. One native object owns one TUN file descriptor:
 *
 *   const tun = new Tun(name | undefined, callback, batchLimit, offload)  // opens and configures the device
 *   tun.fd, tun.name, tun.offload, tun.offloadError                 // set once, at construction
 *   tun.start() / tun.stop()                                        // readiness polling on the event loop
 *   tun.write(bytes) -> bytes written (>= 0) or -errno (-EAGAIN: the device queue is full)
 *   tun.writev(parts, counts, packets, headers) -> packets written (>= 0) or -errno (see js_writev)
 *   tun.getMtu() / tun.setMtu(n)                                   // SIOC[GS]IFMTU by name (own netns only)
 *   tun.ref() / tun.unref()                                         // whether polling keeps the loop alive
 *   tun.close()                                                     // idempotent
 *
 * `callback(errno | null, slab?: Buffer, ends?: Uint32Array)` is called from the event loop: with a batch
 * of packets (read until EAGAIN, `batchLimit` or about 1 MB, copied together into one Buffer; packet i ends
 * at ends[i] and starts at the previous end rounded up to 8), or once with an errno when reading failed
 * (polling then stops; e.g. EBADFD after the device was deleted with its namespace).
 *
 * Why these choices:
 * - The fd is O_NONBLOCK so that reads never stall the event loop, and O_CLOEXEC so that child processes
 *   (`ip`, test peers) never inherit it: a non-persistent TUN device disappears when its last fd closes,
 *   and an inherited copy would keep it alive after close().
 * - IFF_NO_PI: each read/write is exactly one IP packet, no 4-byte packet-information prefix.
 * - A bounded batch per readiness callback: uv_poll is level-triggered, so anything left is delivered on
 *   the next loop turn, after timers and other I/O had their share.
 * - Errors are returned to JS as errno numbers; the JS wrapper names them (os.constants.errno).
 * - Offload (`offload` true): IFF_VNET_HDR, a 10-byte struct virtio_net_hdr (TUNSETVNETHDRSZ) before every
 *   packet in both directions, and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6): the kernel may hand
 *   us TCP super-packets of up to 64 KB with a partial checksum (GRO-like), and takes the same from us
 *   (it segments them itself when it has to, GSO). The header is in the packets read (JS parses it) and is
 *   given to writev separately. When the kernel refuses any of the three ioctls the device is reopened plain
 *   and `offloadError` says why (the JS side then runs without the header).
 * - writev writes a whole turn's packets in one call from JS: each packet is gathered from several parts
 *   (one struct iovec each: the vnet header, the first segment, the payloads of the segments coalesced into
 *   it), so a 64 KB super-packet is never copied in JS.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * Largest read: an IP packet of at most 64 KB (also a GSO super-packet: the tun device's gso_max_size is
 * 64 KB) after the vnet header, with room to spare so that nothing is ever truncated.
 */
#define READ_BUFFER_SIZE (65536 + 4096)
/*
 * One batch is read into one slab (packets 8-byte aligned, each read given READ_BUFFER_SIZE of room) and
 * handed to JS as ONE Buffer copy of the used part plus the packets' end offsets: one allocation per batch
 * instead of one per packet (fewer objects for the garbage collector at 64 KB per read).
 */
#define SLAB_SIZE (1024 * 1024)
#define ALIGN8(n) (((n) + 7) & ~(size_t)7)
#define DEFAULT_BATCH_LIMIT 64
/* sizeof(struct virtio_net_hdr): no num_buffers (that is VIRTIO_NET_F_MRG_RXBUF, which tun does not need). */
#define VNET_HDR_SIZE 10
/* Most iovecs one packet of writev may be gathered from (a 64 KB super-packet of 536-byte segments is 123). */
#define MAX_PARTS_PER_PACKET 256

typedef struct tun_device {
  napi_env env;
  int fd; /* -1 once closed */
  char name[IFNAMSIZ];
  uv_poll_t *poll; /* NULL when not polling; freed by the uv_close callback */
  napi_ref callback;
  napi_ref self; /* strong while polling, so an open device is not collected under its reader */
  napi_async_context async_context;
  uint32_t batch_limit;
  int referenced; /* keep the loop alive while polling */
  int cleanup_hook_added;
  int offload; /* IFF_VNET_HDR and TUNSETOFFLOAD in effect */
  uint8_t *buffer; /* SLAB_SIZE + READ_BUFFER_SIZE */
  uint32_t *ends;  /* batch_limit end offsets */
} tun_device;

#define CHECK(call)                                                                                   \
  do {                                                                                                \
    if ((call) != napi_ok) {                                                                          \
      throw_last_error(env, #call);                                                                   \
      return NULL;                                                                                    \
    }                                                                                                 \
  } while (0)

static void throw_last_error(napi_env env, const char *what) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, "ERR_TUN_NAPI",
                   info && info->error_message ? info->error_message : what);
}

/* Throws an Error carrying `errno` and `syscall` properties; the JS wrapper turns the number into a code. */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char message[160];
  napi_value msg, error, number, call;
  snprintf(message, sizeof message, "%s failed: %s", syscall, strerror(err));
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &call);
  napi_set_named_property(env, error, "syscall", call);
  napi_throw(env, error);
  return NULL;
}

static void on_poll_closed(uv_handle_t *handle) { free(handle); }

static void stop_polling(tun_device *tun) {
  if (tun->poll == NULL) return;
  uv_poll_stop(tun->poll);
  uv_close((uv_handle_t *)tun->poll, on_poll_closed);
  tun->poll = NULL;
  if (tun->self != NULL) {
    uint32_t count = 0;
    napi_reference_unref(tun->env, tun->self, &count);
  }
}

static void cleanup_hook(void *arg);

/* Releases everything without calling into JS; safe from close(), the finalizer and the cleanup hook. */
static void release(tun_device *tun, int from_cleanup_hook) {
  stop_polling(tun);
  if (tun->fd >= 0) {
    close(tun->fd);
    tun->fd = -1;
  }
  if (tun->cleanup_hook_added && !from_cleanup_hook) {
    napi_remove_env_cleanup_hook(tun->env, cleanup_hook, tun);
  }
  tun->cleanup_hook_added = 0;
  free(tun->buffer);
  tun->buffer = NULL;
  free(tun->ends);
  tun->ends = NULL;
}

static void cleanup_hook(void *arg) { release((tun_device *)arg, 1); }

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  tun_device *tun = (tun_device *)data;
  release(tun, 0);
  if (tun->callback != NULL) napi_delete_reference(env, tun->callback);
  if (tun->self != NULL) napi_delete_reference(env, tun->self);
  if (tun->async_context != NULL) napi_async_destroy(env, tun->async_context);
  free(tun);
}

static void deliver(tun_device *tun, napi_value error, napi_value slab, napi_value ends) {
  napi_env env = tun->env;
  napi_value callback, receiver, result, argv[3];
  if (tun->callback == NULL || napi_get_reference_value(env, tun->callback, &callback) != napi_ok ||
      callback == NULL) {
    return;
  }
  /* napi_make_callback needs an object receiver (it converts it with ToObject). */
  napi_get_global(env, &receiver);
  argv[0] = error;
  argv[1] = slab;
  argv[2] = ends;
  /* napi_make_callback runs the microtask queue and process.nextTick afterwards, as for any I/O callback. */
  napi_make_callback(env, tun->async_context, receiver, callback, 3, argv, &result);
  /* A throwing callback becomes an uncaught exception, as it would in any other I/O callback. */
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
      napi_fatal_exception(env, exception);
    }
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  tun_device *tun = (tun_device *)handle->data;
  napi_env env = tun->env;
  napi_handle_scope scope;
  napi_value error, undefined;
  uint32_t count = 0;
  size_t used = 0;
  int err = 0;

  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_get_undefined(env, &undefined);
  if (status < 0) {
    err = -status; /* libuv reports -errno on Unix */
  } else {
    while (count < tun->batch_limit && tun->fd >= 0 && used <= SLAB_SIZE) {
      size_t start = ALIGN8(used);
      ssize_t n = read(tun->fd, tun->buffer + start, READ_BUFFER_SIZE);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
        break;
      }
      if (n == 0) break;
      used = start + (size_t)n;
      tun->ends[count++] = (uint32_t)used;
    }
  }
  if (err != 0) stop_polling(tun);
  if (count > 0) {
    napi_value slab, ends_buffer, ends;
    void *data;
    if (napi_create_buffer_copy(env, used, tun->buffer, &data, &slab) == napi_ok &&
        napi_create_arraybuffer(env, (size_t)count * sizeof(uint32_t), &data, &ends_buffer) == napi_ok &&
        napi_create_typedarray(env, napi_uint32_array, count, ends_buffer, 0, &ends) == napi_ok) {
      memcpy(data, tun->ends, (size_t)count * sizeof(uint32_t));
      napi_get_null(env, &error);
      deliver(tun, error, slab, ends);
    }
  }
  if (err != 0) {
    napi_create_int32(env, err, &error);
    deliver(tun, error, undefined, undefined);
  }
  napi_close_handle_scope(env, scope);
}

static tun_device *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, "ERR_TUN_NAPI", "not a Tun object");
    return NULL;
  }
  return (tun_device *)data;
}

static napi_value closed_error(napi_env env) {
  napi_throw_error(env, "ERR_TUN_CLOSED", "the TUN device is closed");
  return NULL;
}

/*
 * Opens /dev/net/tun and attaches it to the interface named in `ifr` (updated with the kernel's name), with
 * the vnet header and offloads when `offload`. Returns the fd, or -errno with `*failed` naming the call.
 */
static int open_device(struct ifreq *ifr, int offload, const char **failed) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *failed = "open /dev/net/tun";
    return -errno;
  }
  ifr->ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  if (ioctl(fd, TUNSETIFF, ifr) < 0) {
    *failed = "ioctl TUNSETIFF";
  } else if (!offload) {
    return fd;
  } else {
    int header_size = VNET_HDR_SIZE;
    unsigned int features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (ioctl(fd, TUNSETVNETHDRSZ, &header_size) < 0) *failed = "ioctl TUNSETVNETHDRSZ";
    else if (ioctl(fd, TUNSETOFFLOAD, features) < 0) *failed = "ioctl TUNSETOFFLOAD";
    else return fd;
  }
  int err = errno;
  close(fd);
  return -err;
}

/* new Tun(name: string | undefined | null, callback: Function, batchLimit?: number, offload?: boolean) */
static napi_value js_construct(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self, value, resource_name;
  napi_valuetype type;
  struct ifreq ifr;
  uint32_t batch_limit = DEFAULT_BATCH_LIMIT;
  bool want_offload = false;
  char offload_error[160] = "";

  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  memset(&ifr, 0, sizeof ifr);
  if (argc >= 1) {
    CHECK(napi_typeof(env, argv[0], &type));
    if (type == napi_string) {
      size_t length = 0;
      CHECK(napi_get_value_string_utf8(env, argv[0], NULL, 0, &length));
      if (length >= IFNAMSIZ) {
        napi_throw_range_error(env, "ERR_TUN_NAME", "interface names are at most 15 bytes");
        return NULL;
      }
      CHECK(napi_get_value_string_utf8(env, argv[0], ifr.ifr_name, IFNAMSIZ, &length));
    } else if (type != napi_undefined && type != napi_null) {
      napi_throw_type_error(env, "ERR_TUN_NAME", "name must be a string or undefined");
      return NULL;
    }
  }
  if (argc < 2 || napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, "ERR_TUN_CALLBACK", "callback must be a function");
    return NULL;
  }
  if (argc >= 3) {
    CHECK(napi_typeof(env, argv[2], &type));
    if (type == napi_number) {
      CHECK(napi_get_value_uint32(env, argv[2], &batch_limit));
      if (batch_limit == 0) batch_limit = 1;
    }
  }

  if (argc >= 4) {
    CHECK(napi_typeof(env, argv[3], &type));
    if (type == napi_boolean) CHECK(napi_get_value_bool(env, argv[3], &want_offload));
  }

  const char *failed = NULL;
  char requested_name[IFNAMSIZ];
  memcpy(requested_name, ifr.ifr_name, IFNAMSIZ);
  int fd = open_device(&ifr, want_offload, &failed);
  int offload = want_offload && fd >= 0;
  if (fd < 0 && want_offload && strcmp(failed, "open /dev/net/tun") != 0) {
    /* This kernel or device refuses the vnet header or the offloads: the plain device, and why. */
    snprintf(offload_error, sizeof offload_error, "%s failed: %s", failed, strerror(-fd));
    memcpy(ifr.ifr_name, requested_name, IFNAMSIZ);
    fd = open_device(&ifr, 0, &failed);
  }
  if (fd < 0) return throw_errno(env, -fd, failed);

  tun_device *tun = (tun_device *)calloc(1, sizeof *tun);
  uint8_t *buffer = (uint8_t *)malloc(SLAB_SIZE + READ_BUFFER_SIZE + 8);
  uint32_t *ends = (uint32_t *)malloc((size_t)batch_limit * sizeof(uint32_t));
  if (tun == NULL || buffer == NULL || ends == NULL) {
    free(tun);
    free(buffer);
    free(ends);
    close(fd);
    return throw_errno(env, ENOMEM, "malloc");
  }
  tun->env = env;
  tun->fd = fd;
  tun->buffer = buffer;
  tun->ends = ends;
  tun->batch_limit = batch_limit;
  tun->referenced = 1;
  tun->offload = offload;
  memcpy(tun->name, ifr.ifr_name, IFNAMSIZ);
  tun->name[IFNAMSIZ - 1] = '\0';

  if (napi_wrap(env, self, tun, finalize, NULL, NULL) != napi_ok) {
    release(tun, 0);
    free(tun);
    throw_last_error(env, "napi_wrap");
    return NULL;
  }
  /* From here the finalizer owns `tun`. */
  CHECK(napi_create_reference(env, argv[1], 1, &tun->callback));
  CHECK(napi_create_reference(env, self, 0, &tun->self));
  CHECK(napi_create_string_utf8(env, "TunDevice", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(napi_async_init(env, self, resource_name, &tun->async_context));
  if (napi_add_env_cleanup_hook(env, cleanup_hook, tun) == napi_ok) tun->cleanup_hook_added = 1;

  CHECK(napi_create_int32(env, fd, &value));
  CHECK(napi_set_named_property(env, self, "fd", value));
  CHECK(napi_create_string_utf8(env, tun->name, NAPI_AUTO_LENGTH, &value));
  CHECK(napi_set_named_property(env, self, "name", value));
  CHECK(napi_get_boolean(env, offload != 0, &value));
  CHECK(napi_set_named_property(env, self, "offload", value));
  if (offload_error[0] != '\0') {
    CHECK(napi_create_string_utf8(env, offload_error, NAPI_AUTO_LENGTH, &value));
    CHECK(napi_set_named_property(env, self, "offloadError", value));
  }
  return self;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tun_device *tun = unwrap_this(env, info, &argc, NULL);
  uv_loop_t *loop;
  if (tun == NULL) return NULL;
  if (tun->fd < 0) return closed_error(env);
  if (tun->poll != NULL) return NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_poll_t *poll = (uv_poll_t *)calloc(1, sizeof *poll);
  if (poll == NULL) return throw_errno(env, ENOMEM, "malloc");
  int r = uv_poll_init(loop, poll, tun->fd);
  if (r < 0) {
    free(poll);
    return throw_errno(env, -r, "uv_poll_init");
  }
  poll->data = tun;
  r = uv_poll_start(poll, UV_READABLE, on_readable);
  if (r < 0) {
    uv_close((uv_handle_t *)poll, on_poll_closed);
    return throw_errno(env, -r, "uv_poll_start");
  }
  if (!tun->referenced) uv_unref((uv_handle_t *)poll);
  tun->poll = poll;
  uint32_t count = 0;
  napi_reference_ref(env, tun->self, &count);
  return NULL;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tun_device *tun = unwrap_this(env, info, &argc, NULL);
  if (tun != NULL) stop_polling(tun);
  return NULL;
}

static napi_value js_set_referenced(napi_env env, napi_callback_info info, int referenced) {
  size_t argc = 0;
  tun_device *tun = unwrap_this(env, info, &argc, NULL);
  if (tun == NULL) return NULL;
  tun->referenced = referenced;
  if (tun->poll != NULL) {
    if (referenced) uv_ref((uv_handle_t *)tun->poll);
    else uv_unref((uv_handle_t *)tun->poll);
  }
  return NULL;
}

static napi_value js_ref(napi_env env, napi_callback_info info) { return js_set_referenced(env, info, 1); }
static napi_value js_unref(napi_env env, napi_callback_info info) { return js_set_referenced(env, info, 0); }

/* write(bytes: Uint8Array) -> bytes written, or -errno (-EAGAIN when the queue is full). */
static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  napi_typedarray_type type;
  size_t length = 0, byte_offset = 0;
  void *data = NULL;
  napi_value arraybuffer;
  bool is_typedarray = false;
  tun_device *tun = unwrap_this(env, info, &argc, argv);
  if (tun == NULL) return NULL;
  if (tun->fd < 0) return closed_error(env);
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_typedarray) != napi_ok || !is_typedarray) {
    napi_throw_type_error(env, "ERR_TUN_WRITE", "write expects a Uint8Array");
    return NULL;
  }
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, &arraybuffer, &byte_offset));
  if (type != napi_uint8_array && type != napi_uint8_clamped_array) {
    napi_throw_type_error(env, "ERR_TUN_WRITE", "write expects a Uint8Array");
    return NULL;
  }
  ssize_t n;
  do {
    n = write(tun->fd, data, length);
  } while (n < 0 && errno == EINTR);
  CHECK(napi_create_int64(env, n < 0 ? -(int64_t)errno : (int64_t)n, &result));
  return result;
}

/* The bytes of a Uint8Array, or false (with a TypeError thrown) for anything else. */
static bool bytes_of(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_typedarray = false;
  napi_typedarray_type type;
  napi_value arraybuffer;
  size_t byte_offset;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, value, &type, length, data, &arraybuffer, &byte_offset) != napi_ok ||
      (type != napi_uint8_array && type != napi_uint8_clamped_array)) {
    napi_throw_type_error(env, "ERR_TUN_WRITE", "writev expects Uint8Array parts");
    return false;
  }
  return true;
}

/*
 * writev(parts: Uint8Array[], counts: Uint32Array, packets: number, headers: Uint8Array | null)
 *   -> packets written (>= 0), or -errno when the first failing write failed with anything but EAGAIN.
 *
 * Packet i is gathered from the next counts[i] parts, after its vnet header headers[10 i .. 10 i + 10) when
 * `headers` is given (offload devices need one before every packet). Writing stops at the first failure:
 * EAGAIN (the device queue is full; the rest is dropped, as a full NIC queue would) returns the number
 * written so far; any other error returns -errno.
 */
static napi_value js_writev(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result, part;
  struct iovec iov[MAX_PARTS_PER_PACKET + 1];
  void *counts_data = NULL, *headers_data = NULL;
  size_t counts_length = 0, headers_length = 0, byte_offset = 0;
  napi_typedarray_type type;
  napi_value arraybuffer;
  napi_valuetype vtype;
  uint32_t packets = 0, parts_length = 0, next_part = 0, written = 0;
  bool is_typedarray = false, is_array = false;
  tun_device *tun = unwrap_this(env, info, &argc, argv);
  if (tun == NULL) return NULL;
  if (tun->fd < 0) return closed_error(env);
  if (argc < 3 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_is_typedarray(env, argv[1], &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_value_uint32(env, argv[2], &packets) != napi_ok) {
    napi_throw_type_error(env, "ERR_TUN_WRITE", "writev expects (parts[], Uint32Array counts, packets, headers)");
    return NULL;
  }
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &counts_length, &counts_data, &arraybuffer, &byte_offset));
  if (type != napi_uint32_array || counts_length < packets) {
    napi_throw_range_error(env, "ERR_TUN_WRITE", "writev: counts must be a Uint32Array with one count per packet");
    return NULL;
  }
  CHECK(napi_get_array_length(env, argv[0], &parts_length));
  if (argc >= 4 && napi_typeof(env, argv[3], &vtype) == napi_ok && vtype != napi_null && vtype != napi_undefined) {
    if (!bytes_of(env, argv[3], &headers_data, &headers_length)) return NULL;
    if (headers_length < (size_t)packets * VNET_HDR_SIZE) {
      napi_throw_range_error(env, "ERR_TUN_WRITE", "writev: headers hold fewer than one vnet header per packet");
      return NULL;
    }
  }
  const uint32_t *counts = (const uint32_t *)counts_data;
  int64_t outcome = 0;
  for (uint32_t p = 0; p < packets; p++) {
    uint32_t count = counts[p];
    int n = 0;
    if (count == 0 || count > MAX_PARTS_PER_PACKET || next_part + count > parts_length) {
      napi_throw_range_error(env, "ERR_TUN_WRITE", "writev: a packet's part count is 0, too large, or beyond the parts");
      return NULL;
    }
    if (headers_data != NULL) {
      iov[n].iov_base = (uint8_t *)headers_data + (size_t)p * VNET_HDR_SIZE;
      iov[n++].iov_len = VNET_HDR_SIZE;
    }
    for (uint32_t k = 0; k < count; k++) {
      CHECK(napi_get_element(env, argv[0], next_part++, &part));
      if (!bytes_of(env, part, &iov[n].iov_base, &iov[n].iov_len)) return NULL;
      n++;
    }
    ssize_t r;
    do {
      r = writev(tun->fd, iov, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      outcome = errno == EAGAIN || errno == EWOULDBLOCK ? (int64_t)written : -(int64_t)errno;
      break;
    }
    outcome = ++written;
  }
  CHECK(napi_create_int64(env, outcome, &result));
  return result;
}

static int mtu_ioctl(tun_device *tun, unsigned long request, int *mtu) {
  struct ifreq ifr;
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return errno;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, tun->name, IFNAMSIZ);
  ifr.ifr_mtu = *mtu;
  int err = ioctl(sock, request, &ifr) < 0 ? errno : 0;
  close(sock);
  if (err == 0) *mtu = ifr.ifr_mtu;
  return err;
}

static napi_value js_get_mtu(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value result;
  int mtu = 0;
  tun_device *tun = unwrap_this(env, info, &argc, NULL);
  if (tun == NULL) return NULL;
  if (tun->fd < 0) return closed_error(env);
  int err = mtu_ioctl(tun, SIOCGIFMTU, &mtu);
  if (err != 0) return throw_errno(env, err, "ioctl SIOCGIFMTU");
  CHECK(napi_create_int32(env, mtu, &result));
  return result;
}

static napi_value js_set_mtu(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t mtu = 0;
  tun_device *tun = unwrap_this(env, info, &argc, argv);
  if (tun == NULL) return NULL;
  if (tun->fd < 0) return closed_error(env);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &mtu) != napi_ok || mtu <= 0) {
    napi_throw_range_error(env, "ERR_TUN_MTU", "mtu must be a positive integer");
    return NULL;
  }
  int err = mtu_ioctl(tun, SIOCSIFMTU, &mtu);
  if (err != 0) return throw_errno(env, err, "ioctl SIOCSIFMTU");
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tun_device *tun = unwrap_this(env, info, &argc, NULL);
  if (tun == NULL) return NULL;
  release(tun, 0);
  if (tun->callback != NULL) {
    napi_delete_reference(env, tun->callback);
    tun->callback = NULL;
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value constructor;
  napi_property_descriptor methods[] = {
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"writev", NULL, js_writev, NULL, NULL, NULL, napi_default, NULL},
      {"getMtu", NULL, js_get_mtu, NULL, NULL, NULL, napi_default, NULL},
      {"setMtu", NULL, js_set_mtu, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, js_ref, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, js_unref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_class(env, "Tun", NAPI_AUTO_LENGTH, js_construct, NULL,
                          sizeof methods / sizeof methods[0], methods, &constructor));
  CHECK(napi_set_named_property(env, exports, "Tun", constructor));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
