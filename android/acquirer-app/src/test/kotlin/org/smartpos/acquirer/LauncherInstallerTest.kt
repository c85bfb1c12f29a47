package org.smartpos.acquirer

import android.content.ComponentName
import android.content.Intent
import android.content.IntentSender
import android.content.pm.ActivityInfo
import android.content.pm.ResolveInfo
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.smartpos.terminal.MarketCheck
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption

/** The launcher shows only market-verified apps; the installer commits only them. */
@RunWith(RobolectricTestRunner::class)
class LauncherInstallerTest : TerminalSuite() {

    private fun launchable(pkg: String, apk: Path) {
        t.install(pkg, apk)
        val ri = ResolveInfo().apply {
            activityInfo = ActivityInfo().apply {
                packageName = pkg; name = "$pkg.Main"
                applicationInfo = t.app.packageManager.getApplicationInfo(pkg, 0)
                nonLocalizedLabel = pkg
            }
        }
        shadowOf(t.app.packageManager).addResolveInfoForIntent(Intent(Intent.ACTION_MAIN).addCategory(Intent.CATEGORY_LAUNCHER), ri)
    }

    @Test
    fun the_launcher_hides_unsigned_tampered_and_revoked_apps_and_checks_again_at_launch() {
        val f = Fixtures.fixtures
        val shopCopy = tmp.newFile("shop.apk").toPath()
        Files.copy(Fixtures.apks.resolve("merchant.apk"), shopCopy, StandardCopyOption.REPLACE_EXISTING)
        launchable(Terminal.SHOP, shopCopy)
        launchable("com.example.unsigned", f.resolve("developer-only.apk"))
        launchable("com.example.tampered", f.resolve("tampered.apk"))
        launchable("com.example.revoked", f.resolve("revoked.apk"))

        // The revocation list the bank published.
        val revoked = Provisioning.parse(t.provisioning.toJson()).copy(revocationsJson = Files.readString(f.resolve("revocations.json")))
        TerminalOwner.start(t.app, revoked, t.owner.drivers)

        val launcher = Robolectric.buildActivity(LauncherActivity::class.java).setup().get()
        assertEquals(listOf(Terminal.SHOP), launcher.shown.map { it.packageName })
        assertEquals(setOf("com.example.unsigned", "com.example.tampered", "com.example.revoked"), launcher.hidden.keys)
        assertTrue(launcher.hidden["com.example.unsigned"]!!, launcher.hidden["com.example.unsigned"]!!.contains("not signed by the bank's app market"))
        assertTrue(launcher.hidden["com.example.tampered"]!!, launcher.hidden["com.example.tampered"]!!.isNotBlank())
        assertTrue(launcher.hidden["com.example.revoked"]!!, launcher.hidden["com.example.revoked"]!!.contains("revoked", ignoreCase = true))

        val shop = launcher.shown.single()
        assertTrue(launcher.launch(shop))
        assertEquals(ComponentName(Terminal.SHOP, "${Terminal.SHOP}.Main"), shadowOf(launcher).nextStartedActivity.component)

        // The installed file is changed in place after it was listed: refused at launch, and gone.
        val bytes = Files.readAllBytes(Fixtures.fixtures.resolve("tampered.apk"))
        Files.write(shopCopy, bytes)
        assertFalse(launcher.launch(shop))
        assertTrue(launcher.shown.isEmpty())
    }

    @Test
    fun the_installer_commits_a_market_signed_apk_and_never_opens_a_session_for_a_refused_one() {
        val check = MarketCheck(Fixtures.rootKey, Files.readString(Fixtures.fixtures.resolve("revocations.json")), 34u)
        val installer = MarketInstaller(t.app, check)
        val status = IntentSender::class.java.getDeclaredConstructor().let { it.isAccessible = true; it.newInstance() }
        val pi = t.app.packageManager.packageInstaller

        for (bad in listOf("developer-only.apk", "tampered.apk", "revoked.apk")) {
            val r = installer.install(Fixtures.fixtures.resolve(bad).toFile(), status)
            assertTrue("$bad: $r", r is MarketInstaller.Outcome.Refused)
        }
        assertTrue("no session for a refused APK", pi.allSessions.isEmpty())

        val ok = installer.install(Fixtures.apks.resolve("merchant.apk").toFile(), status)
        assertTrue("$ok", ok is MarketInstaller.Outcome.Committed)
        ok as MarketInstaller.Outcome.Committed
        assertEquals(Terminal.SHOP, ok.app.`package`)
        assertEquals(listOf(ok.sessionId), pi.allSessions.map { it.sessionId })
        assertEquals(Terminal.SHOP, pi.getSessionInfo(ok.sessionId)!!.appPackageName)
    }
}
