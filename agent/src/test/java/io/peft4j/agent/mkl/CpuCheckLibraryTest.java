package io.peft4j.agent.mkl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CpuCheckLibraryTest {

    static boolean linuxX64() {
        String arch = System.getProperty("os.arch");
        return System.getProperty("os.name").startsWith("Linux") && ("amd64".equals(arch) || "x86_64".equals(arch));
    }

    @Test
    void isAnX64SharedObjectWhoseDynamicSymbolIsTheFunction() {
        byte[] so = CpuCheckLibrary.bytes();
        assertArrayEquals(so, CpuCheckLibrary.bytes(), "the same bytes on every call");
        ByteBuffer b = ByteBuffer.wrap(so).order(ByteOrder.LITTLE_ENDIAN);
        assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}, java.util.Arrays.copyOf(so, 7), "ELF64 LSB");
        assertEquals(3, b.getShort(16), "ET_DYN");
        assertEquals(62, b.getShort(18), "EM_X86_64");
        // the dynamic symbol table and its string table, found through the program header of type PT_DYNAMIC
        long dynamic = -1;
        for (int i = 0; i < b.getShort(56); i++) {
            int ph = (int) b.getLong(32) + i * 56;
            if (b.getInt(ph) == 2) {
                dynamic = b.getLong(ph + 8);
            }
            if (b.getInt(ph) == 0x6474e551) {
                assertEquals(6, b.getInt(ph + 4), "PT_GNU_STACK asks for a stack that is not executable");
            }
        }
        long symtab = -1;
        long strtab = -1;
        for (int at = (int) dynamic; b.getLong(at) != 0; at += 16) {
            if (b.getLong(at) == 5) {
                strtab = b.getLong(at + 8);
            } else if (b.getLong(at) == 6) {
                symtab = b.getLong(at + 8);
            }
        }
        int symbol = (int) symtab + 24;
        int name = (int) strtab + b.getInt(symbol);
        String text = new String(so, name, CpuCheckLibrary.SYMBOL.length(), StandardCharsets.US_ASCII);
        assertEquals(CpuCheckLibrary.SYMBOL, text);
        assertEquals(0x12, so[symbol + 4], "STB_GLOBAL, STT_FUNC");
        int code = (int) b.getLong(symbol + 8);
        assertArrayEquals(new byte[] {(byte) 0xb8, 1, 0, 0, 0, (byte) 0xc3}, java.util.Arrays.copyOfRange(so, code,
                code + 6), "mov eax, 1; ret");
    }

    @Test
    void theDynamicLoaderLoadsItAndTheFunctionAnswersOne(@TempDir Path dir) throws IOException {
        assumeTrue(linuxX64(), "an x86-64 Linux library");
        Path file = CpuCheckLibrary.write(dir.resolve("lib.so"));
        assertEquals(CpuCheckLibrary.bytes().length, Files.size(file));
        // loaded locally: this test JVM's libtorch keeps binding to its own function
        NativeLibrary lib = NativeLibrary.getInstance(file.toString());
        try {
            assertEquals(1, lib.getFunction(CpuCheckLibrary.SYMBOL).invokeInt(new Object[0]));
        } finally {
            lib.close();
        }
    }
}
