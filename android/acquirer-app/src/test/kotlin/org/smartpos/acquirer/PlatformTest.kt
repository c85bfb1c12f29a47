package org.smartpos.acquirer

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner

/** The JNI entry, the key vault and the provisioning file. */
@RunWith(RobolectricTestRunner::class)
class PlatformTest {
    @get:Rule val tmp = TemporaryFolder()

    @Test
    fun loading_the_library_through_the_jvm_runs_jni_onload_and_answers_its_version() {
        val v = NativeBridge.load("smartpos-test")
        assertTrue(v, v.startsWith("smartpos-terminal-ffi "))
        assertTrue("JNI_OnLoad did not run: $v", v.endsWith("jni=true"))
    }

    @Test
    fun the_terminal_key_is_made_once_and_kept_where_this_platform_allows() {
        val dir = tmp.newFolder()
        val vault = KeyVault(dir)
        // The host JVM has no AndroidKeyStore: the stated fallback.
        assertEquals(KeyVault.Protection.APP_PRIVATE_FILE, vault.protection)
        val key = vault.terminalKeyHex()
        assertTrue(key, Regex("[0-9a-f]{64}").matches(key))
        assertEquals(key, KeyVault(dir).terminalKeyHex())
        assertNotEquals(key, KeyVault(tmp.newFolder()).terminalKeyHex())
        val file = dir.resolve("terminal-key")
        assertTrue(file.canRead())
        val perms = java.nio.file.Files.getPosixFilePermissions(file.toPath()).map { it.name }.toSet()
        assertEquals(setOf("OWNER_READ", "OWNER_WRITE"), perms)
        file.writeBytes(ByteArray(5))
        assertThrows(IllegalArgumentException::class.java) { KeyVault(dir).terminalKeyHex() }
    }

    @Test
    fun provisioning_round_trips_and_a_missing_field_is_named() {
        val p = Provisioning("https://h", null, "PEM", "10000001", "898310048990001", "Shop", "ab".repeat(32))
        assertEquals(p, Provisioning.parse(p.toJson()))
        val e = assertThrows(IllegalArgumentException::class.java) { Provisioning.parse("""{"host_url":"https://h"}""") }
        assertTrue(e.message!!, e.message!!.contains("ca_pem"))
    }
}
