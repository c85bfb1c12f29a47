package com.example.vendor

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.smartpos.terminal.CardReaderDriver
import org.smartpos.terminal.ChipAnswer
import org.smartpos.terminal.ChipVerdict
import org.smartpos.terminal.runConformance

class ConformanceTest {
    @Test
    fun sampleDriversPassTheConformanceKit() {
        val set = SampleDriverSet()
        val checks = runConformance(set.cardReader, set.pinPad, set.printer, set.scanner, set.device, set)
        val failed = checks.filter { !it.passed }
        assertTrue(failed.isEmpty(), failed.joinToString("\n") { "${it.id}: ${it.contract} -- ${it.detail}" })
        assertEquals(44, checks.size)
        assertTrue(set.printer.printed.any { it.contains("一致性") }, "the printed job reached the Kotlin printer")
    }

    @Test
    fun aPinPadThatSkipsCheckValuesFailsByName() {
        val lax = object : SamplePinPad() {
            override fun checkValueMatches(clearKey: ByteArray, kcv: ByteArray) = true
        }
        val set = SampleDriverSet(lax)
        val failed = runConformance(set.cardReader, set.pinPad, set.printer, set.scanner, set.device, set).filter { !it.passed }.map { it.id }
        assertEquals(listOf("pin_pad.working_key_kcv"), failed)
    }

    @Test
    fun aReaderThatReportsTheCardsAacAsAcceptedFailsByName() {
        val set = SampleDriverSet()
        // The kernel's AAC turned into an approval: the terminal would keep money the card refused.
        val liar = object : CardReaderDriver by set.cardReader {
            override fun completeOnline(answer: ChipAnswer, timeoutMs: ULong): ChipVerdict =
                when (val v = set.cardReader.completeOnline(answer, timeoutMs)) {
                    is ChipVerdict.Declined -> ChipVerdict.Accepted(v.iccData)
                    else -> v
                }
        }
        val failed = runConformance(liar, set.pinPad, set.printer, set.scanner, set.device, set).filter { !it.passed }.map { it.id }
        assertEquals(listOf("card_reader.chip_verdict"), failed)
    }
}
