{
  # The optional TUN addon (native/tun.c, N-API in plain C). Built by scripts/build-native.mjs with the
  # node-gyp that ships with npm; Linux only. Output: build/Release/tun.node, loaded by src/io/tun.ts.
  "targets": [
    {
      "target_name": "tun",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/tun.c"],
          "defines": ["NAPI_VERSION=8"],
          "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
        }]
      ]
    }
  ]
}
