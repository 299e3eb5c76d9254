// libtern.so is libtern.a whole, linked with src/capi/libtern.map; CMake wants a source file for
// a shared library, and this is it. Nothing else lives here.
