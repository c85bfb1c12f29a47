package org.smartpos.acquirer

/**
 * The terminal library's JNI entry: `System.loadLibrary` runs its `JNI_OnLoad`, and [init]
 * routes its log to logcat under [tag] and answers its version. Payments go through the
 * generated uniffi bindings (JNA); this is the one hand-written JNI call.
 *
 * ```kotlin
 * val version = NativeBridge.load("smartpos")   // "smartpos-terminal-ffi 0.1.0 jni=true"
 * ```
 */
object NativeBridge {
    /** The library's base name (`libsmartpos_terminal_ffi.so`). */
    const val LIBRARY = "smartpos_terminal_ffi"

    @JvmStatic
    external fun init(tag: String): String

    /** Loads the library through the JVM (running `JNI_OnLoad`) and installs its logger. */
    fun load(tag: String): String {
        System.loadLibrary(LIBRARY)
        return init(tag)
    }
}
